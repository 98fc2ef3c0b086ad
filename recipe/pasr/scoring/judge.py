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

"""Async LLM-judge client for ``r_acc`` on open-domain tasks.

The judge is any OpenAI-compatible chat-completions endpoint (a vLLM/SGLang server next to the
trainer, or a hosted API). Three properties matter more than anything else here, because the judge
score *is* the reward:

* **A failure is never a score.** The reference implementation turned an unparseable judge reply into
  0, which silently trains the policy against the judge's formatting hiccups. Here every problem
  (connection refused, timeout, 4xx/5xx, malformed JSON, a reply that is not exactly one number in
  [0, 1]) ends as ``JudgeVerdict(failed=True, score=None, error=...)``; the caller decides what a
  missing score means (drop the sample, mask the group, ...). :meth:`JudgeClient.score` does not
  raise for request problems.
* **The policy cannot talk to the judge.** The judged answer is fenced between markers carrying a
  fresh random nonce per request, and marker-like sequences inside the answer are neutralised, so
  the answer can neither close the fence nor imitate the instructions (:func:`build_judge_messages`).
* **Throughput.** Rollout batches produce thousands of judge calls per step; the reference made them
  one at a time. This client keeps up to ``max_concurrency`` requests in flight over one keep-alive
  connection pool and spends little CPU per request: raw aiohttp instead of the openai SDK (measured
  ~2x the CPU per request), the body encoded once per request (orjson when installed), no validation
  models; ~0.25-0.3 ms of client CPU per request at 64 in flight (benchmarks/judge_throughput.py).

Retry policy: connection errors, timeouts, HTTP 429 and 5xx are retried with capped exponential
backoff and full jitter (``Retry-After`` is honoured for 429/503, up to the cap). Other 4xx fail at
once: a bad request, wrong model name or bad key will not get better by repeating it. A 200 whose
reply does not parse is *not* retried: at the default temperature 0 the same prompt gives the same
reply, so a retry would spend a request to get the same failure; it is reported as a failure and
counted instead.

The API key is read from the environment variable named by ``JudgeConfig.api_key_env`` and sent as
``Authorization: Bearer``. It never appears in a repr, a log line, a verdict or an error message
(error texts taken from a server response are scrubbed of it too).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import random
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import aiohttp

from recipe.pasr.loggers import get_logger
from recipe.pasr.tasks import JudgeScale, TaskType, judge_system_prompt

try:  # optional: faster than json on the ~6 KB request bodies; not a dependency
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised only where orjson is absent
    _orjson = None

__all__ = [
    "JudgeClient",
    "JudgeConfig",
    "JudgeReplyError",
    "JudgeVerdict",
    "build_judge_messages",
    "parse_judge_reply",
]

logger = get_logger(__name__)

# aiohttp's timeouts raise asyncio.TimeoutError, the builtin TimeoutError only from Python 3.11 on.
TIMEOUT_ERRORS = (asyncio.TimeoutError, TimeoutError)
_BACKOFF_CAP_S = 8.0
_RESERVED_BODY_KEYS = frozenset({"model", "messages"})


if _orjson is not None:

    def _dumps(obj: Any) -> bytes:
        return _orjson.dumps(obj)

    _loads = _orjson.loads
else:  # pragma: no cover

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()

    _loads = json.loads


# --- configuration -------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Mappings/sequences (e.g. OmegaConf containers from Hydra) → plain dicts/lists for JSON."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class JudgeOptions:
    """How to call the judge, all but where (:class:`JudgeConfig` adds ``url`` and ``model``). Validated on
    construction; errors name the field.

    ``timeout_s`` applies per attempt; there are up to ``1 + max_retries`` attempts. ``extra_body`` is
    merged into every request body last (e.g. ``{"chat_template_kwargs": {"enable_thinking": False}}``)
    and may override ``temperature``/``max_tokens`` but not ``model``/``messages``.
    """

    api_key_env: str | None = "PASR_JUDGE_API_KEY"
    max_concurrency: int = 64
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_s: float = 0.5
    temperature: float = 0.0
    max_tokens: int = 16
    # Open questions: ``binary`` 0/1 verdicts or ``graded`` 0..1 partial credit (multiple choice stays 0/1).
    scale: JudgeScale = JudgeScale.BINARY
    max_answer_chars: int = 4000
    extra_body: dict[str, Any] = field(default_factory=dict)
    # Judge identical requests once (e.g. the same short answer from several responses to one prompt).
    deduplicate: bool = True

    def __post_init__(self) -> None:
        try:
            self.scale = JudgeScale(self.scale)
        except ValueError:
            allowed = ", ".join(scale.value for scale in JudgeScale)
            raise ValueError(f"JudgeConfig.scale must be one of {allowed}, got {self.scale!r}") from None
        if self.api_key_env is not None and (not isinstance(self.api_key_env, str) or not self.api_key_env.strip()):
            raise ValueError("JudgeConfig.api_key_env must be an environment variable name or None")
        if not _is_int(self.max_concurrency) or self.max_concurrency < 1:
            raise ValueError(f"JudgeConfig.max_concurrency must be an integer >= 1, got {self.max_concurrency!r}")
        if not _is_number(self.timeout_s) or self.timeout_s <= 0:
            raise ValueError(f"JudgeConfig.timeout_s must be a finite number > 0, got {self.timeout_s!r}")
        if not _is_int(self.max_retries) or self.max_retries < 0:
            raise ValueError(f"JudgeConfig.max_retries must be an integer >= 0, got {self.max_retries!r}")
        if not _is_number(self.backoff_s) or self.backoff_s < 0:
            raise ValueError(f"JudgeConfig.backoff_s must be a finite number >= 0, got {self.backoff_s!r}")
        if not _is_number(self.temperature) or not 0 <= self.temperature <= 2:
            raise ValueError(f"JudgeConfig.temperature must be in [0, 2], got {self.temperature!r}")
        if not _is_int(self.max_tokens) or self.max_tokens < 1:
            raise ValueError(f"JudgeConfig.max_tokens must be an integer >= 1, got {self.max_tokens!r}")
        if not _is_int(self.max_answer_chars) or self.max_answer_chars < 100:
            raise ValueError(f"JudgeConfig.max_answer_chars must be an integer >= 100, got {self.max_answer_chars!r}")
        if self.extra_body is None:
            self.extra_body = {}
        if not isinstance(self.extra_body, Mapping):
            raise ValueError(f"JudgeConfig.extra_body must be a mapping, got {type(self.extra_body).__name__}")
        self.extra_body = _plain(self.extra_body)
        reserved = _RESERVED_BODY_KEYS & self.extra_body.keys()
        if reserved:
            raise ValueError(f"JudgeConfig.extra_body must not set {sorted(reserved)}; use the dedicated fields")
        try:
            json.dumps(self.extra_body)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"JudgeConfig.extra_body must be JSON-serialisable: {exc}") from None


@dataclass
class JudgeConfig(JudgeOptions):
    """Where and how to call the judge: ``url`` is the API base (``http://127.0.0.1:8000/v1``; requests go
    to ``{url}/chat/completions``) and ``model`` the name it serves; the rest is :class:`JudgeOptions`."""

    url: str = field(kw_only=True)
    model: str = field(kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.strip():
            raise ValueError("JudgeConfig.url must be a non-empty base URL such as http://127.0.0.1:8000/v1")
        self.url = self.url.strip().rstrip("/")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"JudgeConfig.url must start with http:// or https://, got {self.url!r}")
        if self.url.endswith("/chat/completions"):
            raise ValueError(
                f"JudgeConfig.url must be the API base (e.g. .../v1), not the endpoint; got {self.url!r}; "
                "'/chat/completions' is appended by the client"
            )
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError("JudgeConfig.model must be a non-empty model name as served by the endpoint")
        super().__post_init__()


@dataclass(frozen=True, slots=True)
class JudgeVerdict:
    """Outcome of one judged answer.

    ``score`` is in [0, 1] when ``failed`` is False and None otherwise (never 0 for a failure).
    ``raw`` is the judge's reply text when one arrived (also for unparseable replies, to debug them).
    ``attempts`` counts the HTTP attempts made (1 + retries). ``deduplicated`` is True when the verdict
    was shared from an identical judge request (same task type, question, reference and judged text)
    instead of being requested again. ``failure_kind`` is one of :data:`FAILURE_KINDS` for a failure.
    ``started_at`` (wall clock, when the first attempt got a slot) and ``latency_s`` (from then to the
    verdict, backoff included) let callers measure latency and requests in flight across clients.
    """

    score: float | None
    failed: bool
    error: str | None
    raw: str | None
    attempts: int
    deduplicated: bool = False
    failure_kind: str | None = None
    started_at: float | None = None
    latency_s: float | None = None


# Why a judge request failed, for metrics; the verdict's ``error`` has the details (e.g. the HTTP status).
FAILURE_KINDS = ("timeout", "connection", "http_status", "unparsable", "out_of_range", "malformed", "other")


# --- reply parsing -------------------------------------------------------------------------------


class JudgeReplyError(ValueError):
    """The judge's reply is not exactly one score in [0, 1]; the message says why."""


class JudgeScoreRangeError(JudgeReplyError):
    """The judge's reply is one number, outside [0, 1]."""


_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_STRICT_REPLY = re.compile(
    rf"\s*(?:(?:final\s+)?(?:score|grade|rating)\s*[:=]?\s*)?({_NUMBER})\s*\.?\s*",
    re.IGNORECASE | re.ASCII,
)
_ANY_NUMBER = re.compile(_NUMBER, re.ASCII)
_MAX_REPLY_CHARS = 200


def parse_judge_reply(text: str) -> float:
    """The score in a judge reply, strictly: exactly one number in [0, 1] and nothing else.

    Tolerated around the number: whitespace, one trailing period, and a short label before it
    (``Score:``, ``score =``, ``Grade:``, ``Rating:``, ``Final score:``). Everything else raises
    :class:`JudgeReplyError` with the reason: no number, several numbers, out of range (``7``,
    ``-0.1``, ``1.5``), or words around the number (``I think 1``). Garbage is never read as 0.
    """
    if not isinstance(text, str):
        raise JudgeReplyError(f"reply is {type(text).__name__}, not text")
    if not text.strip():
        raise JudgeReplyError("empty reply")
    if len(text) > _MAX_REPLY_CHARS:
        raise JudgeReplyError(f"reply too long ({len(text)} chars) for a bare score")
    match = _STRICT_REPLY.fullmatch(text)
    if match is None:
        count = len(_ANY_NUMBER.findall(text))
        if count == 0:
            raise JudgeReplyError("no number in reply")
        if count > 1:
            raise JudgeReplyError(f"{count} numbers in reply, expected exactly one")
        raise JudgeReplyError("unexpected text around the score")
    value = float(match.group(1))
    if not 0.0 <= value <= 1.0:
        raise JudgeScoreRangeError(f"score {match.group(1)} outside [0, 1]")
    return value + 0.0  # -0.0 → 0.0


# --- prompt construction -------------------------------------------------------------------------

_MARKER_RUN = re.compile(r"<{3,}|>{3,}")
_MARKER_SAFE = {"<": "\u2039", ">": "\u203a"}  # ‹ ›: look alike to a reader, never form a marker


def _neutralise(text: str) -> str:
    """Replace every run of 3+ angle brackets by look-alikes (same length), so no fence can be forged."""
    if "<<<" not in text and ">>>" not in text:
        return text
    return _MARKER_RUN.sub(lambda m: _MARKER_SAFE[m.group()[0]] * len(m.group()), text)


def _cap(text: str, max_chars: int) -> str:
    """Keep head and tail of an over-long text, marking the cut: the final result usually sits at the end."""
    if len(text) <= max_chars:
        return text
    tail = max_chars // 3
    head = max_chars - tail
    return f"{text[:head]}\n[... {len(text) - max_chars} characters omitted ...]\n{text[-tail:]}"


DEDUP_WINDOW = 4096  # distinct judge requests remembered per client for deduplication


def judged_content(
    task_type: TaskType, question: str, reference: str, answer: str, max_answer_chars: int
) -> tuple[str, str, str, str]:
    """What the judge sees of a request, nonce aside: equal contents get equal verdicts."""
    return (
        task_type.value,
        _neutralise(str(question)),
        _neutralise(str(reference)),
        _cap(_neutralise(str(answer)), max_answer_chars),
    )


def build_judge_messages(
    task_type: TaskType | str,
    question: str,
    reference: str,
    answer: str,
    max_answer_chars: int,
    nonce: str | None = None,
    scale: JudgeScale = JudgeScale.BINARY,
) -> list[dict[str, str]]:
    """System + user messages for one judge request, laid out for a judge server's prefix cache.

    Everything that the responses to one prompt share comes first and is identical across them: the
    fixed system prompt of the task type and ``scale`` (:func:`recipe.pasr.tasks.judge_system_prompt`), then the
    question and the reference between fixed markers. Last comes the candidate ``answer`` (normally the
    policy's final answer only: less text, less surface for injection) between markers carrying
    ``nonce`` (fresh from :func:`secrets.token_hex` when not given), announced right before them. So a
    server with automatic prefix caching (vLLM, SGLang) computes the shared part once per group.
    All three texts have ``<<<``/``>>>`` runs neutralised (replaced by look-alike characters of the same
    length), so nothing inside can close or open a fence, even knowing the format and the nonce. The
    answer is capped at ``max_answer_chars`` (head and tail kept, the cut marked).
    """
    task_type = TaskType(task_type)
    if nonce is None:
        nonce = secrets.token_hex(8)
    fence_open = f"<<<CANDIDATE-{nonce}>>>"
    fence_close = f"<<<END-CANDIDATE-{nonce}>>>"
    _, question, reference, answer = judged_content(task_type, question, reference, answer, max_answer_chars)
    user = (
        f"Question:\n<<<QUESTION>>>\n{question}\n<<<END-QUESTION>>>\n\n"
        f"Reference answer:\n<<<REFERENCE>>>\n{reference}\n<<<END-REFERENCE>>>\n\n"
        f"The candidate answer follows, between {fence_open} and {fence_close}:\n"
        f"{fence_open}\n{answer}\n{fence_close}"
    )
    return [
        {"role": "system", "content": judge_system_prompt(task_type, scale)},
        {"role": "user", "content": user},
    ]


# --- client --------------------------------------------------------------------------------------


def _retryable_status(status: int) -> bool:
    """429 (rate limited) and every 5xx may pass; any other 4xx is the request's own fault."""
    return status == 429 or 500 <= status <= 599


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # HTTP-date form: not worth parsing for a judge server; fall back to backoff
    return min(max(seconds, 0.0), _BACKOFF_CAP_S) if math.isfinite(seconds) else None


class _Failure(Exception):
    """Internal: one attempt failed; ``retry`` says whether another attempt may help."""

    def __init__(self, error: str, kind: str, retry: bool, raw: str | None = None, wait_s: float | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.kind = kind  # one of FAILURE_KINDS
        self.retry = retry
        self.raw = raw
        self.wait_s = wait_s


class JudgeClient:
    """Scores answers with the configured judge; safe to share across many concurrent coroutines.

    One :class:`aiohttp.ClientSession` (keep-alive pool sized ``max_concurrency``) and one semaphore
    bound the requests in flight. Both are bound to an event loop, so they are created lazily inside
    the running loop on first use, and rebuilt if the client is later used from a different loop
    (e.g. successive ``asyncio.run`` calls); the old session is closed best-effort. Use it from one
    event loop at a time: it is not thread-safe.

    With ``config.deduplicate``, identical requests (same task type and, as the judge would see them,
    question, reference and answer) are judged once: a request arriving while an identical one is in
    flight, or after it succeeded within the last :data:`DEDUP_WINDOW` distinct requests, shares its
    verdict (``deduplicated=True``). A failed verdict is shared only with requests that were waiting for
    it; the next identical request asks again.

    Counters for metrics: ``requests`` (calls to :meth:`score`), ``retries`` (extra attempts),
    ``failures`` (verdicts with ``failed=True``) and ``deduplicated`` (verdicts shared, no request sent).
    """

    def __init__(self, config: JudgeConfig) -> None:
        if not isinstance(config, JudgeConfig):
            raise TypeError(f"JudgeClient needs a JudgeConfig, got {type(config).__name__}")
        self.config = config
        self._endpoint = config.url + "/chat/completions"
        key = os.environ.get(config.api_key_env, "").strip() if config.api_key_env else ""
        self.__key = key  # name-mangled and never formatted; used only to scrub error texts
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        elif config.api_key_env:
            logger.info("judge: $%s is not set; sending requests without an API key", config.api_key_env)
        self._timeout = aiohttp.ClientTimeout(total=config.timeout_s)
        self._base_body: dict[str, Any] = {
            "model": config.model,
            "temperature": config.temperature,
            "max_tokens": config.max_tokens,
            **config.extra_body,
        }
        self._session: aiohttp.ClientSession | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._verdicts: OrderedDict[tuple[str, str, str, str], asyncio.Future[JudgeVerdict]] = OrderedDict()
        self.requests = 0
        self.retries = 0
        self.failures = 0
        self.deduplicated = 0

    def __repr__(self) -> str:
        cfg = self.config
        return f"JudgeClient(url={cfg.url!r}, model={cfg.model!r}, max_concurrency={cfg.max_concurrency})"

    def metrics(self) -> dict[str, int]:
        """Counter snapshot, e.g. for the trainer's metrics dict."""
        return {
            "judge/requests": self.requests,
            "judge/retries": self.retries,
            "judge/failures": self.failures,
            "judge/deduplicated": self.deduplicated,
        }

    async def __aenter__(self) -> JudgeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. The client can still be used afterwards (it reopens lazily)."""
        session, loop = self._session, self._loop
        self._session = self._semaphore = self._loop = None
        if session is None or session.closed:
            return
        if loop is asyncio.get_running_loop():
            await session.close()
        else:
            _abandon(session, loop)

    def _bind(self) -> tuple[aiohttp.ClientSession, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        session, semaphore = self._session, self._semaphore
        if session is not None and semaphore is not None and self._loop is loop and not session.closed:
            return session, semaphore
        if session is not None and self._loop is not loop:
            _abandon(session, self._loop)
        if self._loop is not loop:
            self._verdicts.clear()  # futures of another event loop cannot be awaited here
        n = self.config.max_concurrency
        connector = aiohttp.TCPConnector(limit=n, limit_per_host=n, ttl_dns_cache=300, keepalive_timeout=30)
        session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            cookie_jar=aiohttp.DummyCookieJar(),  # no cookie bookkeeping per request
            headers=self._headers,  # session defaults: cheaper than merging per-request headers
            skip_auto_headers=("User-Agent",),
            raise_for_status=False,
        )
        semaphore = asyncio.Semaphore(n)
        self._session, self._semaphore, self._loop = session, semaphore, loop
        return session, semaphore

    async def score(self, *, task_type: TaskType | str, question: str, reference: str, answer: str) -> JudgeVerdict:
        """Judge ``answer`` against ``reference``. Returns a failed verdict instead of raising on any
        request or reply problem; raises only for caller bugs (unknown ``task_type``)."""
        self.requests += 1
        task_type = TaskType(task_type)  # a caller bug raises here, before any request
        self._bind()
        if not self.config.deduplicate:
            return await self._judge(task_type, question, reference, answer)
        key = judged_content(task_type, question, reference, answer, self.config.max_answer_chars)
        shared = self._verdicts.get(key)
        if shared is not None:
            self.deduplicated += 1
            return dataclasses.replace(await asyncio.shield(shared), deduplicated=True)
        future: asyncio.Future[JudgeVerdict] = asyncio.get_running_loop().create_future()
        self._verdicts[key] = future
        while len(self._verdicts) > DEDUP_WINDOW:
            self._verdicts.popitem(last=False)
        try:
            verdict = await self._judge(task_type, question, reference, answer)
        except BaseException as error:  # cancelled: waiters must not hang; the next request asks again
            self._forget(key, future)
            future.set_exception(error)
            future.exception()  # retrieved here, so an unawaited future logs nothing
            raise
        future.set_result(verdict)
        if verdict.failed:
            self._forget(key, future)
        return verdict

    def _forget(self, key: tuple[str, str, str, str], future: asyncio.Future[JudgeVerdict]) -> None:
        if self._verdicts.get(key) is future:
            del self._verdicts[key]

    async def _judge(self, task_type: TaskType, question: str, reference: str, answer: str) -> JudgeVerdict:
        """One judged answer over HTTP, with retries."""
        cfg = self.config
        session, semaphore = self._bind()

        data: bytes | None = None
        attempts = 0
        last: _Failure | None = None
        started_at: float | None = None
        started = 0.0
        while True:
            attempts += 1
            reply: str | None = None
            try:
                async with semaphore:
                    if started_at is None:
                        started_at, started = time.time(), time.monotonic()
                    if data is None:
                        # Built inside the slot: with thousands of score() calls gathered at once, building
                        # every body before waiting would put all that CPU work ahead of the first replies
                        # (measured: first wave of 2048 gathered calls 160 ms instead of ~55 ms) and hold
                        # every body in memory at once.
                        body = dict(self._base_body)
                        body["messages"] = build_judge_messages(
                            task_type, question, reference, answer, cfg.max_answer_chars, scale=cfg.scale
                        )
                        data = _dumps(body)
                    reply = await self._attempt(session, data)
                score = parse_judge_reply(reply) if reply is not None else None
                if score is None:
                    raise _Failure("judge reply has no content", "unparsable", retry=False)
                latency = time.monotonic() - started
                return JudgeVerdict(score, False, None, reply, attempts, started_at=started_at, latency_s=latency)
            except JudgeReplyError as exc:
                kind = "out_of_range" if isinstance(exc, JudgeScoreRangeError) else "unparsable"
                last = _Failure(f"unparseable judge reply: {exc}", kind, retry=False, raw=reply)
            except _Failure as exc:
                last = exc
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, *TIMEOUT_ERRORS, OSError) as exc:
                kind = "timeout" if isinstance(exc, TIMEOUT_ERRORS) else "connection"
                last = _Failure(_describe(exc, cfg.timeout_s), kind, retry=True)
            except Exception as exc:  # never let a request problem escape as an exception
                last = _Failure(f"unexpected {type(exc).__name__}: {exc}", "other", retry=False)
            if not last.retry or attempts > cfg.max_retries:
                break
            self.retries += 1
            await asyncio.sleep(self._backoff(attempts, last.wait_s))
            if session.closed:  # aclose() raced with us; reopen rather than fail the remaining attempts
                session, semaphore = self._bind()

        self.failures += 1
        error = last.error if not last.retry else f"{last.error} (after {attempts} attempts)"
        error = self._scrub(error)
        if self.failures <= 5:
            logger.warning("judge request failed: %s", error)
        latency = time.monotonic() - started if started_at is not None else None
        return JudgeVerdict(None, True, error, last.raw, attempts, False, last.kind, started_at, latency)

    async def _attempt(self, session: aiohttp.ClientSession, data: bytes) -> str | None:
        """One HTTP attempt; returns the reply content, raises _Failure or a transport exception."""
        async with session.post(self._endpoint, data=data) as resp:
            status = resp.status
            payload = await resp.read()
            if status != 200:
                snippet = self._snippet(payload)
                retry = _retryable_status(status)
                wait_s = _retry_after_s(resp.headers) if status in (429, 503) else None
                raise _Failure(f"HTTP {status} from judge: {snippet}", "http_status", retry=retry, wait_s=wait_s)
        try:
            content = _loads(payload)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            snippet = self._snippet(payload)
            raise _Failure(
                f"malformed judge response ({type(exc).__name__}): {snippet}", "malformed", retry=False
            ) from None
        if content is not None and not isinstance(content, str):
            raise _Failure(f"judge content is {type(content).__name__}, not text", "malformed", retry=False)
        return content

    def _backoff(self, attempt: int, floor_s: float | None) -> float:
        """Capped exponential backoff with full jitter, not below a server's Retry-After."""
        ceiling = min(_BACKOFF_CAP_S, self.config.backoff_s * (2 ** (attempt - 1)))
        delay = random.uniform(0.0, ceiling)
        return max(delay, floor_s) if floor_s is not None else delay

    def _snippet(self, payload: bytes) -> str:
        """Start of a response body for an error message: scrubbed *before* it is cut, so that a server
        echoing the Authorization header cannot leak even part of the key."""
        return self._scrub(payload[:65536].decode("utf-8", "replace"))[:200].strip()

    def _scrub(self, text: str) -> str:
        key = self.__key
        return text.replace(key, "***") if key and key in text else text


def _describe(exc: BaseException, timeout_s: float) -> str:
    if isinstance(exc, TIMEOUT_ERRORS):
        return f"judge request timed out after {timeout_s:g} s"
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return f"cannot connect to judge at {exc.host}:{exc.port} ({reason})"
    return f"{type(exc).__name__}: {exc}"


def _abandon(session: aiohttp.ClientSession, loop: asyncio.AbstractEventLoop | None) -> None:
    """Close a session that belongs to another event loop, without awaiting on this one.

    The common case is a caller running ``asyncio.run`` per batch: the old loop is closed, its transports
    can no longer be closed through it, and their sockets would linger until garbage collection (with a
    ResourceWarning each). aiohttp has no public handle on pooled connections, so this reaches into the
    connector, best effort: a failure here must never break scoring.
    """
    try:
        if loop is not None and loop.is_running() and not loop.is_closed():
            asyncio.run_coroutine_threadsafe(session.close(), loop)  # its loop lives on in another thread
            return
        connector = session.connector
        if connector is None:
            return
        if loop is None or loop.is_closed():
            pooled = [proto for conns in getattr(connector, "_conns", {}).values() for proto, _ in conns]
            for proto in [*pooled, *getattr(connector, "_acquired", ())]:
                transport = getattr(proto, "transport", None)
                sock = getattr(transport, "_sock", None)
                if sock is not None:
                    transport._sock = None  # type: ignore[union-attr]  # its finaliser must not warn again
                    sock.close()
        connector._close()  # sync part of close(); only marks it closed when the loop is gone
    except Exception:
        logger.debug("judge: could not close a session of a previous event loop", exc_info=True)


# --- command line ----------------------------------------------------------------------------------


def add_judge_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The judge options every CLI shares (score, evaluate); read them back with :func:`judge_from_args`.

    Their defaults are :class:`JudgeConfig`'s.
    """
    defaults = {f.name: f.default for f in fields(JudgeConfig)}
    parser.add_argument("--judge-url", metavar="URL", help="OpenAI-compatible API base, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--judge-model", metavar="NAME", help="model name served at --judge-url")
    parser.add_argument(
        "--judge-api-key-env", metavar="VAR", default=defaults["api_key_env"], help="env var holding the API key"
    )
    parser.add_argument(
        "--judge-concurrency",
        type=int,
        metavar="N",
        default=defaults["max_concurrency"],
        help="judge requests in flight",
    )
    parser.add_argument(
        "--judge-timeout", type=float, metavar="S", default=defaults["timeout_s"], help="seconds per judge attempt"
    )
    parser.add_argument("--judge-max-retries", type=int, metavar="N", default=defaults["max_retries"])
    parser.add_argument(
        "--judge-scale",
        choices=[scale.value for scale in JudgeScale],
        default=defaults["scale"].value,
        help="open questions: binary 0/1 verdicts or graded 0..1 (multiple choice stays 0/1)",
    )
    parser.add_argument(
        "--judge-temperature",
        type=float,
        metavar="T",
        help=f"judge sampling temperature (default {defaults['temperature']}: deterministic)",
    )


def judge_from_args(args: argparse.Namespace) -> JudgeClient | None:
    """A client from :func:`add_judge_arguments` options; None without ``--judge-url``; ValueError if incomplete."""
    if not args.judge_url:
        return None
    if not args.judge_model:
        raise ValueError("--judge-url needs --judge-model (the model name the judge server serves)")
    return JudgeClient(
        JudgeConfig(
            url=args.judge_url,
            model=args.judge_model,
            api_key_env=args.judge_api_key_env,
            max_concurrency=args.judge_concurrency,
            timeout_s=args.judge_timeout,
            max_retries=args.judge_max_retries,
            scale=JudgeScale(args.judge_scale),
            **({"temperature": args.judge_temperature} if args.judge_temperature is not None else {}),
        )
    )
