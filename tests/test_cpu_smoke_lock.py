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

"""``run_cpu_smoke.sh`` starts no second verl trainer on a host while one runs: verl 0.9.1's weight-sync
socket path is the same for two fresh Ray clusters (``/tmp/rl-colocate-zmq-01000000-…``), and a suite and a
benchmark run side by side once hung this way. A stand-in interpreter records when the trainer would start."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from recipe.pasr.cpu.trainer_run import SMOKE_SCRIPT

FAKE_PYTHON = """#!/usr/bin/env bash
case "$*" in
  *verl.trainer.main_ppo*) echo started >> "$TRAINER_STARTS" ;;
  *) cat > /dev/null ;;  # the install check reads its program on stdin; exit 0 = installed
esac
"""


def test_a_second_trainer_waits_for_the_host_lock(tmp_path: Path) -> None:
    python = tmp_path / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    starts, lock = tmp_path / "starts", tmp_path / "trainer.lock"
    env = {**os.environ, "PYTHON": str(python), "TRAINER_STARTS": str(starts), "PASR_TRAINER_LOCK": str(lock)}
    env["PASR_CPU_DIR"] = str(tmp_path / "cpu")
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a trainer is running
        second = subprocess.Popen(
            ["bash", str(SMOKE_SCRIPT)], env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        time.sleep(2)
        assert second.poll() is None and not starts.exists()  # waiting, not started
    _, stderr = second.communicate(timeout=30)  # the first one ended: the lock is free
    assert second.returncode == 0, stderr
    assert "another verl trainer holds" in stderr and "waiting" in stderr
    assert starts.read_text() == "started\n"
    # With the lock free, a run starts at once and says nothing about waiting.
    again = subprocess.run(["bash", str(SMOKE_SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    assert again.returncode == 0 and "waiting" not in again.stderr and starts.read_text() == "started\n" * 2


HANGING_PYTHON = """#!/usr/bin/env bash
case "$*" in
  *verl.trainer.main_ppo*) sleep 300 & echo $! > "$TRAINER_PID"; wait ;;
  *) cat > /dev/null ;;
esac
"""

HARNESS = """
import sys
from pathlib import Path
from recipe.pasr.cpu.trainer_run import run_cpu_trainer
run_cpu_trainer(Path(sys.argv[1]), [], timeout_s=300)
"""


def test_a_stopped_harness_leaves_no_trainer_behind(tmp_path: Path) -> None:
    """SIGTERM to the process running ``run_cpu_trainer`` (a benchmark stopped by hand, a CI timeout) kills
    the trainer's process group too: a trainer left running would hold the host lock and the cores."""
    python = tmp_path / "python"
    python.write_text(HANGING_PYTHON)
    python.chmod(0o755)
    trainer_pid = tmp_path / "trainer.pid"
    env = {**os.environ, "PYTHON": str(python), "TRAINER_PID": str(trainer_pid)}
    env["PASR_TRAINER_LOCK"] = str(tmp_path / "trainer.lock")
    harness = subprocess.Popen([sys.executable, "-c", HARNESS, str(tmp_path / "run")], env=env)
    deadline = time.monotonic() + 60
    while not (trainer_pid.exists() and trainer_pid.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    pid = int(trainer_pid.read_text())
    harness.send_signal(signal.SIGTERM)
    assert harness.wait(timeout=30) == 128 + signal.SIGTERM
    time.sleep(0.5)
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
