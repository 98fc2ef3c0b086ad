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

"""Run the whole PASR trainer on CPU (``recipe/pasr/run_cpu_smoke.sh``) from Python: tests, benchmarks.

The trainer runs as a subprocess in its own session with a hard timeout; on timeout, at the end, or when
the caller is stopped (an exception, Ctrl-C, SIGTERM) the whole process group is killed, because a failed
verl run can hang (Ray workers waiting on each other) instead of exiting, and a trainer left behind holds
the host's trainer lock. Its step lines are parsed into dicts of metrics.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SMOKE_SCRIPT = Path(__file__).resolve().parent.parent / "run_cpu_smoke.sh"
STEP_LINE = re.compile(r"step:(\d+) - (.*)$")
METRIC = re.compile(r"^([\w/@.\-]+):(.*)$")


@dataclass
class TrainerRun:
    returncode: int
    wall_s: float
    log: Path
    steps: dict[int, dict[str, float]]

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def parse_steps(text: str) -> dict[int, dict[str, float]]:
    """verl's console logger lines ``step:N - key:value - key:value ...`` → {N: {key: value}}."""
    steps: dict[int, dict[str, float]] = {}
    for line in text.splitlines():
        found = STEP_LINE.search(line)
        if found is None:
            continue
        metrics: dict[str, float] = {}
        for part in found.group(2).split(" - "):
            item = METRIC.match(part.strip())
            if item is None:
                continue
            value = re.sub(r"^np\.\w+\((.*)\)$", r"\1", item.group(2).strip())  # np.float64(2.0) → 2.0
            try:
                metrics[item.group(1)] = float(value)
            except ValueError:
                continue
        steps[int(found.group(1))] = metrics
    return steps


def run_cpu_trainer(
    workdir: Path,
    overrides: list[str],
    *,
    timeout_s: float,
    log_name: str = "trainer.log",
    cpu_dir: Path | None = None,
) -> TrainerRun:
    """``bash run_cpu_smoke.sh OVERRIDES`` with cwd ``workdir`` and ``PASR_CPU_DIR=cpu_dir`` (default
    ``workdir/cpu``; a finished build there, of any task, is used as it is)."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / log_name
    env = {**os.environ, "PASR_CPU_DIR": str(cpu_dir or workdir / "cpu"), "RAY_DEDUP_LOGS": "0"}
    env.pop("RAY_ADDRESS", None)  # always a fresh local Ray cluster
    start = time.monotonic()
    with _sigterm_raises_system_exit(), log.open("w") as out:
        process = subprocess.Popen(
            ["bash", str(SMOKE_SCRIPT), *overrides],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            returncode = -signal.SIGKILL
            out.write(f"\n[test harness] killed after {timeout_s:.0f} s\n")
        finally:
            kill_group(process.pid)
    return TrainerRun(returncode, time.monotonic() - start, log, parse_steps(log.read_text(errors="replace")))


@contextlib.contextmanager
def _sigterm_raises_system_exit() -> Iterator[None]:
    """SIGTERM's default action ends the process at once, skipping the ``finally`` that kills the trainer;
    inside this block it raises SystemExit instead. Signal handlers can only be set in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:  # None: the previous handler was not set from Python, i.e. the default
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def kill_group(pgid: int) -> None:
    """Kill what is left of the trainer's process group (Ray workers, vLLM servers)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
