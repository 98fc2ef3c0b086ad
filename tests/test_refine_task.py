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

"""The learning benchmark's task (recipe.pasr.cpu.refine_task) and how its dumps are read."""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from recipe.pasr.cpu import refine_task
from recipe.pasr.cpu.refine_task import KINDS, MAX_OPERAND, kind_of, records, synthetic_example
from recipe.pasr.cpu.trainer_run import TrainerRun
from recipe.pasr.response import parse_response
from recipe.pasr.scoring.rules import score_gsm8k
from recipe.pasr.tasks import pasr_messages
from tests.benchmark_module import load_benchmark

learning_cpu = load_benchmark("learning_cpu")

SAMPLES = 30_000


def _terms(question: str) -> list[int]:
    return [int(word) for word in question.split("?")[0].split() if word.isdigit()]


def test_synthetic_responses_mix_every_behaviour_at_the_designed_rates() -> None:
    rng = random.Random(0)
    seen: dict[str, Counter] = {kind.name: Counter() for kind in KINDS}
    for _ in range(SAMPLES):
        question, response = synthetic_example(rng)
        kind = kind_of(question)
        parsed = parse_response(response)
        assert parsed.format_ok, response
        correct = sum(_terms(question))
        first = int(response.split("=")[1].split()[0])
        final_right = score_gsm8k(parsed.answer or "", f"#### {correct}").acc == 1.0
        count = seen[kind.name]
        count["n"] += 1
        count["refine"] += parsed.is_refine
        count["first_right"] += first == correct
        if parsed.is_refine:
            count["refined_right"] += final_right
            count["repeated"] += int(parsed.answer or -1) == first
        else:
            assert int(parsed.answer or -1) == first
        assert int(parsed.answer or -1) >= 0
    total = sum(count["n"] for count in seen.values())
    for kind in KINDS:
        count = seen[kind.name]
        share = refine_task.KIND_CYCLE.count(kind) / len(refine_task.KIND_CYCLE)
        assert count["n"] / total == pytest.approx(share, abs=0.02)
        refined = count["refine"]
        assert count["refine"] / count["n"] == pytest.approx(refine_task.REFINE_PROBABILITY, abs=0.02)
        assert count["first_right"] / count["n"] == pytest.approx(kind.p_first_right, abs=0.02)
        if kind.p_refined_right is None:
            assert count["repeated"] == refined  # a neutral refine block changes nothing
        else:
            assert count["refined_right"] / refined == pytest.approx(kind.p_refined_right, abs=0.02)


def test_kinds_are_designed_as_named() -> None:
    by_name = {kind.name: kind for kind in KINDS}
    assert by_name["helps"].p_refined_right > by_name["helps"].p_first_right == 0.0
    assert [kind.adds_a_term for kind in KINDS] == [True, False, False]
    assert refine_task.KIND_CYCLE.count(by_name["helps"]) == 2 and len(refine_task.KIND_CYCLE) == 4
    assert by_name["neutral"].p_refined_right is None
    assert by_name["hurts"].p_refined_right < by_name["hurts"].p_first_right
    assert len({kind.marker for kind in KINDS}) == len(KINDS)
    assert set(refine_task.KIND_BY_MARKER) <= set(refine_task.vocabulary())


def test_kind_is_read_from_a_question_and_from_a_decoded_chat_prompt() -> None:
    for kind in KINDS:
        question = refine_task.question([3, 4], kind)
        assert kind_of(question) is kind
        system, user = pasr_messages(question)
        prompt = f"<|im_start|>system\n{system['content']}<|im_end|>\n<|im_start|>user\n{user['content']}<|im_end|>\n"
        assert kind_of(prompt + "<|im_start|>assistant\n") is kind
        decoded = f"system {system['content']} user {user['content']} assistant"  # verl's dump: no special tokens
        assert kind_of(decoded) is kind
    with pytest.raises(ValueError, match="alpha, beta, gamma"):
        kind_of("What is 3 + 4 ? delta alphabet")
    with pytest.raises(ValueError, match="no kind marker"):
        kind_of("What is 3 + 4 ?")


def test_records_cycle_the_kinds_with_gsm8k_references() -> None:
    pairs = records(12, seed=3)
    assert [kind_of(question) for question, _ in pairs] == list(refine_task.KIND_CYCLE) * 3
    for question, reference in pairs:
        terms = _terms(question)
        assert reference.endswith(f"#### {sum(terms)}")
        assert len(terms) == (3 if kind_of(question).adds_a_term else 2)
        assert all(0 <= term <= MAX_OPERAND for term in terms) and (len(terms) == 2 or terms[2] >= 1)
    assert records(12, seed=3) == pairs and records(12, seed=4) != pairs


def test_helps_is_only_right_through_a_refine_block() -> None:
    """The first attempt of a helps response adds two of the three terms: never the answer."""
    rng = random.Random(1)
    for _ in range(2000):
        question, response = synthetic_example(rng)
        parsed = parse_response(response)
        if kind_of(question).adds_a_term and not parsed.is_refine:
            assert int(parsed.answer or -1) != sum(_terms(question)), (question, response)


def _dump_line(kind_index: int, is_refine: bool, acc: float, role: str = "policy") -> str:
    question = refine_task.question([1, 2], KINDS[kind_index])
    return json.dumps(
        {"input": f"<|im_start|>user\n{question}<|im_end|>\n", "is_refine": is_refine, "acc": acc, "role": role}
    )


def test_refine_rates_per_kind_from_dump_lines() -> None:
    lines = [
        _dump_line(0, True, 1.0),
        _dump_line(0, False, 0.0),
        _dump_line(0, True, 1.0),
        _dump_line(0, True, 0.0),
        _dump_line(2, False, 1.0),
        _dump_line(2, True, 1.0, role="standard"),  # a paired-baseline response: not a policy decision
    ]
    rates = learning_cpu.refine_rates(lines)
    assert rates["helps"] == {"n": 4, "refine_rate": 0.75, "acc": 0.5}
    assert rates["hurts"] == {"n": 1, "refine_rate": 0.0, "acc": 1.0}
    assert "neutral" not in rates
    with pytest.raises(ValueError, match="line 1 has no PASR columns"):
        learning_cpu.refine_rates([json.dumps({"input": "x", "score": 1.0})])


def test_deltas_are_final_minus_initial_validation_and_summarised_per_condition() -> None:
    def validation(helps: float, neutral: float, hurts: float) -> dict:
        return {
            name: {"n": 8, "refine_rate": rate, "acc": 0.5}
            for name, rate in zip(learning_cpu.KIND_NAMES, (helps, neutral, hurts), strict=True)
        }

    run = {"validation": {0: validation(0.5, 0.5, 0.5), 7: validation(0.9, 0.2, 0.1)}, "train": {}, "steps_done": 7}
    assert learning_cpu.deltas(run) == pytest.approx({"helps": 0.4, "neutral": -0.3, "hurts": -0.4})
    flat = {"validation": {0: validation(0.5, 0.5, 0.5), 7: validation(0.6, 0.5, 0.3)}, "train": {}, "steps_done": 7}
    summary = learning_cpu.summarize({0: {"pasr": run, "control": flat}, 1: {"pasr": flat, "control": flat}})
    assert summary["learn_refine_delta_helps"] == pytest.approx(0.25)
    assert summary["learn_refine_delta_helps_seed0"] == pytest.approx(0.4)
    assert summary["control_refine_delta_hurts"] == pytest.approx(-0.2)
    unfinished = {"validation": {0: validation(0.5, 0.5, 0.5)}, "train": {}, "steps_done": 1}
    assert all(value != value for value in learning_cpu.deltas(unfinished).values())  # NaN, never a fake 0


def test_a_finished_run_is_saved_and_reused_whatever_other_seeds_run_and_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[Path] = []
    prepared: list[Path] = []
    work, results = tmp_path / "work", tmp_path / "results"
    results.mkdir()

    def trainer(run_dir: Path, overrides: list[str], **kwargs: object) -> TrainerRun:
        started.append(run_dir)
        (run_dir / "validation").mkdir(parents=True)
        (run_dir / "validation" / "0.jsonl").write_text(_dump_line(0, True, 1.0) + "\n")
        log = run_dir / "trainer.log"
        log.write_text("step:1 - x:1\n")
        return TrainerRun(0, 1.0, log, {1: {"x": 1.0}})

    def prepare(directory: Path, settings: object) -> dict[str, object]:
        prepared.append(directory)
        return {"warm_start": {"steps": 1}}

    monkeypatch.setattr(learning_cpu, "prepare", prepare)
    monkeypatch.setattr(learning_cpu, "run_cpu_trainer", trainer)
    made = learning_cpu.LearningSettings(seeds=(0,))
    (work / "seed0" / "pasr" / "rollouts").mkdir(parents=True)
    (work / "seed0" / "pasr" / "rollouts" / "9.jsonl").write_text("left by an unfinished run\n")
    first = learning_cpu.run_seed(made, 0, work, results)
    assert started == [work / "seed0" / "pasr", work / "seed0" / "control"]
    assert first["pasr"]["train"] == {}  # the unfinished run's dump was removed, not read
    assert first["pasr"]["validation"][0]["helps"]["refine_rate"] == 1.0
    saved = json.loads((results / "seed0_pasr.json").read_text())
    assert saved["warm_start"] == {"steps": 1} and saved["settings"]["lr"] == made.lr and saved["commit"]

    # Another seeds list or timeout: both runs reused, no warm start built; step keys are ints again.
    reused = learning_cpu.run_seed(dataclasses.replace(made, seeds=(0, 1, 2), run_timeout_s=1.0), 0, work, results)
    assert len(started) == 2 and len(prepared) == 1
    assert reused["control"]["validation"] == first["control"]["validation"]
    # An interrupted seed runs only what is missing.
    (results / "seed0_control.json").unlink()
    learning_cpu.run_seed(made, 0, work, results)
    assert started[2:] == [work / "seed0" / "control"]
    # Another setting: an error naming the file and the setting; nothing runs, nothing is overwritten.
    before = (results / "seed0_pasr.json").read_text()
    with pytest.raises(SystemExit, match=r"seed0_pasr\.json holds a run made with other settings \(lr: saved"):
        learning_cpu.run_seed(dataclasses.replace(made, lr=made.lr * 2), 0, work, results)
    assert len(started) == 3 and (results / "seed0_pasr.json").read_text() == before


def test_a_failed_run_is_reported_and_not_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def trainer(run_dir: Path, overrides: list[str], **kwargs: object) -> TrainerRun:
        run_dir.mkdir(parents=True, exist_ok=True)
        log = run_dir / "trainer.log"
        log.write_text("Traceback: boom\n")
        return TrainerRun(1, 1.0, log, {})

    monkeypatch.setattr(learning_cpu, "prepare", lambda directory, settings: {"warm_start": {"steps": 1}})
    monkeypatch.setattr(learning_cpu, "run_cpu_trainer", trainer)
    result = learning_cpu.run_seed(learning_cpu.LearningSettings(seeds=(0,)), 0, tmp_path / "work", tmp_path)
    assert result["pasr"]["returncode"] == 1 and result["pasr"]["steps_done"] == 0
    assert not list(tmp_path.glob("seed0_*.json"))


def test_a_run_names_uncommitted_changes_beside_its_commit(tmp_path):
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", "code.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "code")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert learning_cpu.code_commit.__wrapped__(tmp_path) == head
    (tmp_path / "code.py").write_text("x = 2\n")
    assert learning_cpu.code_commit.__wrapped__(tmp_path) == f"{head}+uncommitted changes"


def _scripted_trainer(final_refine: dict[str, list[bool]]):
    """A stand-in trainer: validation before (every kind refines half the time) and after 2 steps, where
    kind ``i`` refines as ``final_refine[condition][i]``; the condition is read from the overrides."""

    def trainer(run_dir: Path, overrides: list[str], **kwargs: object) -> TrainerRun:
        condition = "control" if "pasr.reward.bonus_weight=0" in overrides else "pasr"
        for directory in ("validation", "rollouts"):
            (run_dir / directory).mkdir(parents=True, exist_ok=True)
        lines = {
            0: [_dump_line(kind, refine, 1.0) for kind in range(len(KINDS)) for refine in (True, False)],
            2: [_dump_line(kind, refine, 1.0) for kind, refine in enumerate(final_refine[condition])],
        }
        for step, dump in lines.items():
            (run_dir / "validation" / f"{step}.jsonl").write_text("\n".join(dump) + "\n")
        for step in (1, 2):
            (run_dir / "rollouts" / f"{step}.jsonl").write_text("\n".join(lines[2]) + "\n")
        log = run_dir / "trainer.log"
        log.write_text("step:1 - x:1\nstep:2 - x:1\n")
        return TrainerRun(0, 1.0, log, {1: {"x": 1.0}, 2: {"x": 1.0}})

    return trainer


@pytest.mark.parametrize("conditions", [["pasr", "control"], ["pasr"]])
def test_main_reports_table_plot_and_figures_of_the_conditions_it_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], conditions: list[str]
) -> None:
    final = {"pasr": [True, False, False], "control": [True, True, True]}
    monkeypatch.setattr(learning_cpu, "prepare", lambda directory, settings: {"warm_start": {"steps": 1}})
    monkeypatch.setattr(learning_cpu, "run_cpu_trainer", _scripted_trainer(final))
    results = tmp_path / "results"
    args = ["--workdir", str(tmp_path / "work"), "--results-dir", str(results), "--seeds", "0", "1", "--steps", "2"]
    assert learning_cpu.main([*args, "--conditions", *conditions]) == 0
    printed = dict(line.split("=") for line in capsys.readouterr().out.splitlines() if "=" in line)
    assert float(printed["learn_refine_delta_helps"]) == pytest.approx(0.5)
    assert float(printed["learn_refine_delta_hurts_seed1"]) == pytest.approx(-0.5)
    assert ("control_refine_delta_neutral" in printed) == ("control" in conditions)
    if "control" in conditions:
        assert float(printed["control_refine_delta_neutral"]) == pytest.approx(0.5)
    rows = (results / "learning_cpu.md").read_text().splitlines()
    assert [row.split(" | ")[:2] for row in rows[2:]] == [
        [f"| {seed}", condition] for seed in (0, 1) for condition in conditions
    ]
    assert "0.50 → 1.00 | 0.50 → 0.00 | 0.50 → 0.00" in rows[2]
    assert (results / "learning_cpu.png").stat().st_size > 10_000
    assert sorted(path.name for path in results.glob("seed*.json")) == sorted(
        f"seed{seed}_{condition}.json" for seed in (0, 1) for condition in conditions
    )


def test_unknown_conditions_are_refused_naming_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="choose one or more of pasr, control"):
        learning_cpu.LearningSettings(conditions=("pasr", "bonus"))
    with pytest.raises(SystemExit):
        learning_cpu.main(["--conditions", "bonus"])
