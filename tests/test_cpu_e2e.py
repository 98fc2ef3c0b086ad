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

"""The whole recipe, end to end, on CPU: ``main_ppo +recipe=pasr_cpu`` through ``run_cpu_smoke.sh``.

Real verl 0.9.1 trainer (FSDP2 actor and reference), rollout through verl's own vLLM integration on
vLLM's CPU build, the PASR reward manager and group hook, GRPO update, weight sync, checkpoints; a tiny
warm-started model and GSM8K-style records scored by rule.

The runs come from ``benchmarks/learning_cpu.py`` at its smallest (one seed, 3 steps, the PASR condition),
so the learning benchmark cannot rot and no trainer start is spent twice: its PASR run is the 3-step run
every check below reads. A run resumed from its step-2 checkpoint follows, and the step-3 checkpoint is
then merged with verl's model merger and evaluated. The control condition is the same job without the
bonus (``tests/test_benchmarks_smoke.py`` composes both through verl's entry point); training it here
too would cost a third trainer start-up, about 5 minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from recipe.pasr.cpu.trainer_run import TrainerRun, parse_steps, run_cpu_trainer
from recipe.pasr.metrics import summarize
from tests.benchmark_module import BENCHMARKS, load_benchmark

pytestmark = [pytest.mark.e2e, pytest.mark.ray]

TIMEOUT_S = 900
PASR_METRICS = set(summarize([]))
DATA = Path(__file__).resolve().parent / "data"
learning_cpu = load_benchmark("learning_cpu")
# verl needs each step's responses (prompts × samples) divisible by the log-prob micro-batch (8).
SMALLEST = [
    "--seeds", "0", "--conditions", "pasr", "--steps", "3", "--warm-start-steps", "300", "--train-prompts", "16",
    "--prompts-per-step", "4", "--samples-per-prompt", "4",
    "--val-prompts", "4", "--val-samples-per-prompt", "2", "--run-timeout-s", str(TIMEOUT_S),
    "--override", "trainer.save_freq=2", "--override", "trainer.logger=[console,tensorboard]",
    "--override", "trainer.experiment_name=e2e",
]  # fmt: skip


def assert_ok(run: TrainerRun) -> None:
    assert run.returncode == 0, f"trainer exited {run.returncode} after {run.wall_s:.0f} s:\n{run.tail()}"


def locations(workdir: Path) -> list[str]:
    """Runs and results in the test's directory: never the committed results of the real benchmark."""
    return ["--workdir", str(workdir), "--results-dir", str(workdir / "results")]


def saved_run(workdir: Path, condition: str) -> dict:
    return json.loads(learning_cpu.run_file(workdir / "results", 0, condition).read_text())["result"]


def run_benchmark(workdir: Path) -> subprocess.CompletedProcess:
    # Each trainer run has its own hard timeout inside the script; this one bounds the script itself.
    command = [sys.executable, str(BENCHMARKS / "learning_cpu.py"), *locations(workdir), *SMALLEST]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S + 300)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cpu_e2e")


@pytest.fixture(scope="module")
def learning_run(workdir) -> subprocess.CompletedProcess:
    # Not named `benchmark`: pytest-benchmark, where installed, owns that fixture name.
    finished = run_benchmark(workdir)
    print(f"learning benchmark, smallest:\n{finished.stdout}", file=sys.stderr)
    assert finished.returncode == 0, finished.stderr[-5000:]
    return finished


@pytest.fixture(scope="module")
def first_run(learning_run, workdir) -> TrainerRun:
    """The benchmark's PASR run: validation before the first update (step 0), then training steps 1–3."""
    run = saved_run(workdir, "pasr")
    log = Path(run["log"])
    trainer_run = TrainerRun(run["returncode"], run["wall_s"], log, parse_steps(log.read_text(errors="replace")))
    print(f"first run: {trainer_run.wall_s:.0f} s", file=sys.stderr)
    assert_ok(trainer_run)
    return trainer_run


def training_steps(run: TrainerRun) -> dict[int, dict[str, float]]:
    return {step: metrics for step, metrics in run.steps.items() if step > 0}


def test_learning_benchmark_reports_every_figure_from_its_runs(learning_run, workdir):
    printed = dict(re.findall(r"^(\w+)=(-?[\d.]+|nan)$", learning_run.stdout, re.M))
    for kind in learning_cpu.KIND_NAMES:
        assert printed.get(f"learn_refine_delta_{kind}", "nan") != "nan", kind

    report = json.loads((workdir / "results" / "learning_cpu.json").read_text())
    run = saved_run(workdir, "pasr")
    assert run["returncode"] == 0 and run["steps_done"] == 3, run["log"]
    assert sorted(run["validation"]) == ["0", "3"]  # before the first update and after the last
    assert sorted(run["train"]) == ["1", "2", "3"]
    for rates in run["validation"].values():  # the held-out prompts cover every kind
        assert set(rates) == set(learning_cpu.KIND_NAMES)
    for rates in run["train"].values():  # 4 shuffled prompts a step need not
        assert rates and set(rates) <= set(learning_cpu.KIND_NAMES)
    first, last = run["validation"]["0"]["helps"], run["validation"]["3"]["helps"]
    delta = report["summary"]["learn_refine_delta_helps"]
    assert delta == pytest.approx(last["refine_rate"] - first["refine_rate"])
    assert float(printed["learn_refine_delta_helps"]) == pytest.approx(delta, abs=5e-4)
    assert (workdir / "results" / "learning_cpu.png").stat().st_size > 10_000
    assert "| 0 | pasr | 3 |" in (workdir / "results" / "learning_cpu.md").read_text()


def test_three_steps_train_with_every_pasr_metric(first_run):
    steps = training_steps(first_run)
    assert sorted(steps) == [1, 2, 3]
    for step, metrics in steps.items():
        missing = PASR_METRICS - set(metrics)
        assert not missing, f"step {step} lacks {sorted(missing)}"
    # Rewards differed inside groups, so GRPO had advantages and the update moved the weights.
    assert max(metrics["actor/grad_norm"] for metrics in steps.values()) > 0
    assert any(metrics["pasr/refine_rate"] > 0 for metrics in steps.values())
    # vLLM starts from dummy weights (verl's load_format) and generates with the actor's only through the
    # weight sync: rollout and actor log-probs agree at every step, including after each update.
    for step, metrics in steps.items():
        assert metrics["training/rollout_probs_diff_mean"] < 0.02, (step, metrics["training/rollout_probs_diff_mean"])
    # Validation before the first update and after the last scores with the same reward.
    assert "val-aux/gsm8k/is_refine/mean@2" in first_run.steps[0] and "val-core/gsm8k/acc/mean@2" in steps[3]


def test_rewards_training_used_equal_the_offline_reward(first_run, workdir, tmp_path):
    dumps = sorted((workdir / "seed0" / "pasr" / "rollouts").glob("*.jsonl"))
    assert [dump.stem for dump in dumps] == ["1", "2", "3"]
    compared = 0
    for dump in dumps:
        trained = [json.loads(line) for line in dump.read_text().splitlines()]
        rescored_path = tmp_path / f"rescored_{dump.name}"
        score = ["--input", str(dump), "--output", str(rescored_path), "--data-source", "gsm8k"]
        subprocess.run([sys.executable, "-m", "recipe.pasr.tools.score", *score], check=True, capture_output=True)
        rescored = [json.loads(line) for line in rescored_path.read_text().splitlines()]
        assert len(rescored) == len(trained) == 16
        for used, offline in zip(trained, rescored, strict=True):
            # The dump's own fields are kept; the offline reward sits beside them as pasr_<name>.
            assert offline["score"] == used["score"] and offline["data_source"] == "gsm8k"
            assert abs(used["score"] - offline["pasr_score"]) < 1e-5, (used, offline)
            assert used["is_refine"] == offline["pasr_is_refine"], (used, offline)
            assert used["refine_bonus"] == offline["pasr_refine_bonus"], (used, offline)
            compared += 1
    refined = [json.loads(line)["is_refine"] for dump in dumps for line in dump.read_text().splitlines()]
    assert compared == 48 and any(refined) and not all(refined)


def test_metrics_reach_tensorboard(first_run, workdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = list((workdir / "seed0" / "pasr" / "tensorboard_log").glob("*/e2e"))
    assert len(runs) == 1, runs
    events = EventAccumulator(str(runs[0]))
    events.Reload()
    assert [event.step for event in events.Scalars("pasr/refine_rate")] == [1, 2, 3]
    logged = {event.step: event.value for event in events.Scalars("pasr/refine_rate")}
    expected = {step: m["pasr/refine_rate"] for step, m in training_steps(first_run).items()}
    assert logged == pytest.approx(expected, abs=1e-6)


def test_resume_from_step_two_reaches_step_three(first_run, workdir):
    """The resumed step also runs the paper's paired baseline and a validation pass (seconds, not a run)."""
    checkpoint = workdir / "seed0" / "pasr" / "checkpoints" / "global_step_2"
    assert (checkpoint / "actor").is_dir()
    run = run_cpu_trainer(
        workdir / "resumed",
        [
            "trainer.total_training_steps=3",
            "trainer.resume_mode=resume_path",
            f"trainer.resume_from_path={checkpoint}",
            "trainer.experiment_name=e2e_resumed",
            "pasr.reward.baseline=paired",
            "pasr.paired_samples=2",
            "trainer.test_freq=3",
        ],
        timeout_s=TIMEOUT_S,
        cpu_dir=workdir / "seed0" / "cpu",
    )
    print(f"resumed run: {run.wall_s:.0f} s", file=sys.stderr)
    assert_ok(run)
    assert sorted(run.steps) == [3]
    step = run.steps[3]
    assert not PASR_METRICS - set(step)
    assert step["pasr/baseline_missing_rate"] == 0  # paired: every refining response has standard responses
    assert "val-core/gsm8k/acc/mean@1" in step and "val-aux/gsm8k/is_refine/mean@1" in step


def test_checkpoint_merges_and_evaluates(first_run, workdir, tmp_path):
    """verl's model merger turns the step-3 checkpoint into a model directory that ``recipe.pasr.tools.evaluate``
    scores with its vLLM backend (vLLM's CPU build here, the GPU default elsewhere)."""
    from recipe.pasr.data_prep import prepare_eval

    merged = tmp_path / "merged"
    actor = workdir / "seed0" / "pasr" / "checkpoints" / "global_step_3" / "actor"
    merge = ["merge", "--backend", "fsdp", "--local_dir", str(actor), "--target_dir", str(merged)]
    subprocess.run([sys.executable, "-m", "verl.model_merger", *merge], check=True, capture_output=True)
    eval_data = tmp_path / "eval_data"
    assert prepare_eval.main(["--output-dir", str(eval_data), "--input-dir", str(DATA / "paper_sets")]) == 0
    out = tmp_path / "eval"
    args = ["--data-dir", str(eval_data), "--model", str(merged), "--backend", "vllm", "--output-dir", str(out)]
    args += ["--tasks", "gsm8k", "mmlu", "--max-new-tokens", "48", "--mode", "pasr"]
    evaluated = subprocess.run(
        [sys.executable, "-m", "recipe.pasr.tools.evaluate", *args],
        env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert set(results["tasks"]) == {"gsm8k", "mmlu"}
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert len(records) == 6
    # The trained model writes PASR-shaped text (its tokenizer knows no MMLU words, so format is what shows).
    assert any("<think>" in record["response"] and "<answer>" in record["response"] for record in records)


def test_a_finished_benchmark_is_reused_without_starting_a_trainer(learning_run, workdir, capsys, monkeypatch):
    def no_trainer(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished run started a trainer again")

    monkeypatch.setattr(learning_cpu, "run_cpu_trainer", no_trainer)
    assert learning_cpu.main([*locations(workdir), *SMALLEST]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("reusing the finished run in") == 1  # the PASR run
    assert "learn_refine_delta_helps=" in captured.out
