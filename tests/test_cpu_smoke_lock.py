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
import subprocess
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
