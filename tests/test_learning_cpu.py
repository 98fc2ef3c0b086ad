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

"""``benchmarks/learning_cpu.py`` end to end at the smallest size: two steps of each condition through the
whole trainer, so the script cannot rot. Whether the model learns is the full benchmark's question (hours);
this checks that every figure it reports comes out of the runs' own dumps.

Two trainer starts cost about 4 minutes on 2 cores, more than the default suite's 15-minute budget has
left, so this runs with the other extra whole-trainer paths (``pytest -m e2e_paths``), not by default.
Sizes: verl needs each step's responses (prompts × samples) divisible by the log-prob micro-batch (8)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e_paths, pytest.mark.ray]

ROOT = Path(__file__).resolve().parents[1]
SMALLEST = [
    "--steps", "2", "--seeds", "0", "--warm-start-steps", "20", "--train-prompts", "16",
    "--prompts-per-step", "4", "--samples-per-prompt", "4",
    "--val-prompts", "4", "--val-samples-per-prompt", "2", "--run-timeout-s", "900",
]  # fmt: skip


def test_two_steps_per_condition_write_every_output(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import learning_cpu

    assert learning_cpu.main(["--workdir", str(tmp_path), *SMALLEST]) == 0
    printed = dict(re.findall(r"^(\w+)=(-?[\d.]+|nan)$", capsys.readouterr().out, re.M))
    for prefix in ("learn", "control"):
        for kind in learning_cpu.KIND_NAMES:
            assert f"{prefix}_refine_delta_{kind}" in printed and printed[f"{prefix}_refine_delta_{kind}"] != "nan"

    report = json.loads((tmp_path / "learning_cpu.json").read_text())
    for condition in learning_cpu.CONDITIONS:
        run = report["runs"]["0"][condition]
        assert run["returncode"] == 0 and run["steps_done"] == 2, run["log"]
        assert sorted(run["validation"]) == ["0", "2"]  # before the first update and after the last
        assert sorted(run["train"]) == ["1", "2"]
        for rates in run["validation"].values():  # the held-out prompts cover every kind
            assert set(rates) == set(learning_cpu.KIND_NAMES)
        for rates in run["train"].values():  # 4 shuffled prompts a step need not
            assert rates and set(rates) <= set(learning_cpu.KIND_NAMES)
        delta = report["summary"][f"{'learn' if condition == 'pasr' else 'control'}_refine_delta_helps"]
        first, last = run["validation"]["0"]["helps"], run["validation"]["2"]["helps"]
        assert delta == pytest.approx(last["refine_rate"] - first["refine_rate"])
    assert (tmp_path / "learning_cpu.png").stat().st_size > 10_000
    assert "| 0 | pasr | 2 |" in (tmp_path / "learning_cpu.md").read_text()

    # A finished seed is reused by a later invocation with the same settings (no trainer starts again).
    assert learning_cpu.main(["--workdir", str(tmp_path), *SMALLEST]) == 0
    assert "reusing the finished run in" in capsys.readouterr().err
