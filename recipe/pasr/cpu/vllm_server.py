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

"""``vllm serve`` (vLLM's CPU build) on 127.0.0.1 as a context manager, and its Prometheus counters.

Used to stand up a real OpenAI-compatible judge for the CPU runs and benchmarks. The server runs in its
own session and its whole process group is ended on exit, so a failed start never leaves it behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def vllm_server(
    model_dir: Path,
    log: Path,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    start_timeout_s: float = 600,
) -> Iterator[str]:
    """Serve ``model_dir`` as model ``judge``; yields the server's root URL (``http://127.0.0.1:PORT``)."""
    port = free_port()
    command = [sys.executable, "-m", "vllm.entrypoints.cli.main", "serve", str(model_dir), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--served-model-name", "judge", "--enforce-eager", *args]
    with log.open("w") as out:
        server = subprocess.Popen(
            command,
            env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s
        while not _ready(url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"vLLM server did not start (log {log}):\n{log.read_text()[-3000:]}")
            time.sleep(2)
        yield url
    finally:
        _end(server)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v1/models", timeout=5) as response:
            return bool(json.load(response)["data"])
    except OSError:
        return False


def _end(server: subprocess.Popen) -> None:
    for sig, wait_s in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def counters(url: str, metrics: Sequence[str]) -> dict[str, float]:
    """Each Prometheus counter in ``metrics``, summed over its label sets, from ``url/metrics``."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        lines = response.read().decode().splitlines()
    return {
        metric: sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.split("{")[0].split(" ")[0] == metric)
        for metric in metrics
    }
