# Copyright 2026 The verl-recipe-pasr Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""A loopback fake of an OpenAI-compatible chat-completions server, for tests and benchmarks.

Requests to ``/completions`` (a raw prompt, no chat template) get a text-completion body instead.

It is a bare asyncio HTTP/1.1 server (keep-alive, ``Content-Length`` bodies, no pipelining needs) rather
than ``aiohttp.web`` because the throughput benchmark shares two cores between this server and the
client under test: every microsecond the server spends per request is taken from the client's core
and shows up as a lower client figure. The fixed-latency path therefore never parses JSON and answers
from pre-encoded bytes via ``loop.call_later`` (no task per request).

Behaviour per request comes from a *responder*: a callable that gets a :class:`FakeRequest` and
returns a :class:`FakeReply` (or an awaitable of one), so tests can script slow replies, 5xx, 4xx,
garbage and dropped connections, and inspect exactly what the client sent.

Three ways to run it:

* ``async with FakeJudgeServer(responder) as server:`` in the running event loop (tests);
* :func:`serve_in_thread` — the same on its own loop in a daemon thread (tests that change loops);
* :func:`serve_in_process` — a context manager that starts a fixed-latency server in a separate
  process (benchmarks, so the server gets its own core and its own GIL);
* ``python -m tests.fakes.judge_server --latency-ms 50`` for manual experiments.

Not part of the training path; loopback only (binds 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import multiprocessing
import os
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FakeJudgeServer",
    "FakeReply",
    "FakeRequest",
    "completion_body",
    "fixed_responder",
    "serve_in_process",
    "serve_in_thread",
]

_MAX_HEADER_BYTES = 64 * 1024
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*([0-9]+)", re.IGNORECASE)
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 413: "Payload Too Large"}
_REASONS.update({429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Unavailable"})


@dataclass(slots=True)
class FakeRequest:
    """One request as received: header names lower-cased, body as raw bytes."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def messages(self) -> list[dict[str, str]]:
        """The chat messages of a chat-completions request (empty if the body is not one)."""
        try:
            return list(self.json().get("messages", []))
        except (ValueError, AttributeError):
            return []

    @property
    def is_text_completion(self) -> bool:
        """A ``/completions`` request: a raw prompt, answered with ``choices[0].text``."""
        return self.path.endswith("/completions") and not self.path.endswith("/chat/completions")

    def prompt(self) -> str:
        """The raw prompt of a ``/completions`` request (empty if the body is not one)."""
        try:
            return str(self.json().get("prompt", ""))
        except (ValueError, AttributeError):
            return ""

    def user_text(self) -> str:
        """Concatenated content of the user messages (where the judged material lives)."""
        return "\n".join(m.get("content", "") for m in self.messages() if m.get("role") == "user")


@dataclass(slots=True)
class FakeReply:
    """What to answer.

    ``content`` becomes ``choices[0].message.content`` of a 200 reply (``None`` is sent as JSON null);
    for other statuses an OpenAI-style error body is sent. ``body`` overrides the body verbatim
    (malformed JSON and the like). ``delay_s`` waits before answering. ``drop`` closes the connection
    without answering (after the delay).
    """

    content: str | None = "1"
    status: int = 200
    delay_s: float = 0.0
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


Responder = Callable[[FakeRequest], "FakeReply | Awaitable[FakeReply]"]


def completion_body(content: str | None, model: str = "fake-judge", text: bool = False) -> bytes:
    """An OpenAI chat-completions response body with ``content`` as the assistant message (``text``: a
    text-completions body with ``content`` as ``choices[0].text``)."""
    choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
    if text:
        choice["text"] = content
    else:
        choice["message"] = {"role": "assistant", "content": content}
    return json.dumps(
        {
            "id": "cmpl-fake" if text else "chatcmpl-fake",
            "object": "text_completion" if text else "chat.completion",
            "created": 0,
            "model": model,
            "choices": [choice],
            "usage": {"prompt_tokens": 0, "completion_tokens": 1, "total_tokens": 1},
        },
        separators=(",", ":"),
    ).encode()


def _encode_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", "Content-Type: application/json"]
    head.append(f"Content-Length: {len(body)}")
    if headers:
        head.extend(f"{k}: {v}" for k, v in headers.items())
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def _render(reply: FakeReply, text: bool = False) -> bytes:
    if reply.body is not None:
        body = reply.body
    elif reply.status == 200:
        body = completion_body(reply.content, text=text)
    else:
        err = {"error": {"message": f"fake error {reply.status}", "type": "fake", "code": reply.status}}
        body = json.dumps(err).encode()
    return _encode_response(reply.status, body, reply.headers)


def fixed_responder(content: str = "1", latency_s: float = 0.05) -> FakeReply:
    """A constant reply: the benchmark's server answers every request with it, pre-encoded once."""
    return FakeReply(content=content, delay_s=latency_s)


class _Conn(asyncio.Protocol):
    """One client connection: accumulates bytes, cuts complete requests, hands them to the server."""

    __slots__ = ("_buf", "_pending", "_server", "_transport")

    def __init__(self, server: FakeJudgeServer) -> None:
        self._server = server
        self._buf = bytearray()
        self._transport: asyncio.Transport | None = None
        self._pending: set[Any] = set()  # TimerHandles / tasks of requests not answered yet

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._server._conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server._conns.discard(self)
        for token in self._pending:  # the client gave up (timeout): stop counting these as in flight
            if isinstance(token, asyncio.Task):
                token.cancel()  # fixed-reply timers just find their token gone when they fire
            self._server.in_flight -= 1
        self._pending.clear()
        self._transport = None

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        server = self._server
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEADER_BYTES:
                    self._abort()
                return
            if buf.find(b"chunked", 0, end) >= 0:
                self._abort()  # the clients under test always send Content-Length
                return
            match = _CONTENT_LENGTH.search(buf, 0, end)
            total = end + 4 + (int(match.group(1)) if match else 0)
            if len(buf) < total:
                return
            if server._fixed is not None and not server.record:
                del buf[:total]  # benchmark fast path: nothing to look at, answer from pre-encoded bytes
                server._dispatch(self, None)
                continue
            lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
            body = bytes(buf[end + 4 : total])
            del buf[:total]
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            parts = lines[0].split(" ")
            if len(parts) < 2:
                self._abort()
                return
            server._dispatch(self, FakeRequest(parts[0], parts[1], headers, body))

    def _abort(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _finish(self, token: Any, payload: bytes | None) -> None:
        """Send ``payload`` (or drop the connection if None) for the request tracked by ``token``."""
        if token not in self._pending:
            return  # connection already lost; counted there
        self._pending.discard(token)
        self._server.in_flight -= 1
        self._server.answered += 1
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if payload is None:
            transport.close()
        else:
            transport.write(payload)


class FakeJudgeServer:
    """Loopback chat-completions server driven by a responder (see module docstring).

    Attributes for assertions: ``requests`` (every :class:`FakeRequest`, when ``record=True``),
    ``received``/``answered`` counts, ``in_flight`` and its high-water mark ``max_in_flight`` (requests
    received and not yet answered, whose connection is still open).
    """

    def __init__(
        self,
        responder: Responder | FakeReply | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        record: bool = True,
    ) -> None:
        self._responder = responder if responder is not None else FakeReply()
        self._fixed: bytes | None = None
        self._fixed_delay = 0.0
        if isinstance(self._responder, FakeReply):  # constant reply: encode once, skip the per-request work
            if self._responder.drop:
                raise ValueError("a constant reply cannot be drop=True")
            self._fixed = _render(self._responder)
            self._fixed_delay = self._responder.delay_s
        self.host = host
        self.port = port
        self.record = record
        self.requests: list[FakeRequest] = []
        self.received = 0
        self.answered = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._server: asyncio.Server | None = None
        self._conns: set[_Conn] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        """Base URL for a client (``/chat/completions`` is appended by the client)."""
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> FakeJudgeServer:
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(lambda: _Conn(self), self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for conn in list(self._conns):
                conn._abort()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FakeJudgeServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _dispatch(self, conn: _Conn, request: FakeRequest | None) -> None:
        self.received += 1
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        if self.record and request is not None:
            self.requests.append(request)
        loop = self._loop
        assert loop is not None
        if self._fixed is not None:  # fast path: no parsing, no task
            token = object()
            conn._pending.add(token)
            loop.call_later(self._fixed_delay, conn._finish, token, self._fixed)
            return
        assert request is not None
        task = loop.create_task(self._respond(conn, request))
        conn._pending.add(task)

    async def _respond(self, conn: _Conn, request: FakeRequest) -> None:
        token = asyncio.current_task()
        try:
            reply = self._responder(request)  # type: ignore[operator]
            if inspect.isawaitable(reply):
                reply = await reply
            if not isinstance(reply, FakeReply):
                raise TypeError(f"responder returned {type(reply).__name__}, expected FakeReply")
            if reply.delay_s > 0:
                await asyncio.sleep(reply.delay_s)
            payload = None if reply.drop else _render(reply, request.is_text_completion)
        except asyncio.CancelledError:
            return  # connection lost while waiting; already uncounted
        except Exception as exc:  # a broken responder should be visible to the test, as a 500
            payload = _encode_response(500, json.dumps({"error": {"message": repr(exc)}}).encode())
        conn._finish(token, payload)


# --- background thread (sync tests, tests that switch event loops) -----------------------------------


@contextlib.contextmanager
def serve_in_thread(
    responder: Responder | FakeReply | None = None, *, record: bool = True
) -> Iterator[FakeJudgeServer]:
    """Run a :class:`FakeJudgeServer` on its own event loop in a daemon thread; yields the started server.

    For code under test that runs (or re-creates) its own event loops, e.g. successive ``asyncio.run``.
    Counters are plain ints updated from the server thread; read them after the client calls returned.
    """
    server = FakeJudgeServer(responder, record=record)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-judge", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=10)
        yield server
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


# --- separate process (benchmarks) ------------------------------------------------------------------


def _process_main(conn: Any, latency_s: float, content: str, cpus: set[int] | None) -> None:
    if cpus:
        os.sched_setaffinity(0, cpus)

    async def run() -> None:
        server = FakeJudgeServer(fixed_responder(content, latency_s), record=False)
        await server.start()
        conn.send(server.port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(conn.fileno(), stop.set)  # parent closes its end (or sends) to stop us
        await stop.wait()
        loop.remove_reader(conn.fileno())
        await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


@contextlib.contextmanager
def serve_in_process(
    latency_s: float = 0.05, content: str = "1", start_timeout_s: float = 30.0, cpus: set[int] | None = None
) -> Iterator[str]:
    """Run a fixed-latency fake judge in a separate process; yields its base URL.

    Uses the ``spawn`` start method so the child does not inherit the parent's event loop or threads.
    ``cpus`` pins the server process to those CPUs (Linux), e.g. to keep it off the client's core.
    """
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_process_main, args=(child, latency_s, content, cpus), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(start_timeout_s):
            raise RuntimeError("fake judge server process did not start")
        port = parent.recv()
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        proc.join(timeout=5)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)
        parent.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--content", default="1")
    args = parser.parse_args(argv)

    async def run() -> None:
        server = FakeJudgeServer(fixed_responder(args.content, args.latency_ms / 1000), port=args.port, record=False)
        await server.start()
        print(f"fake judge on {server.url} (latency {args.latency_ms} ms)", flush=True)
        while True:
            t0, n0 = time.monotonic(), server.received
            await asyncio.sleep(10)
            rate = (server.received - n0) / (time.monotonic() - t0)
            print(f"received={server.received} rate={rate:.0f}/s", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
