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

"""The PASR reward simulator against closed forms, verl's own GRPO and its CLI contract."""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import replace

import numpy as np
import pytest
import torch
from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage

from recipe.pasr.reward import GroupResult, RewardConfig, SampleScore
from recipe.pasr.tools import simulate as sim

ALWAYS_HELPS = (sim.TaskType("always_helps", 0.0, 1.0),)
ALWAYS_HURTS = (sim.TaskType("always_hurts", 1.0, 0.0),)
ALWAYS_RIGHT = (sim.TaskType("always_right", 1.0, 1.0),)


def expected_gradient(n: int, p: float) -> float:
    """E[policy gradient per response] for one type where refiners always score Δ > 0 above the rest.

    With m refiners out of n, GRPO gives refiners (1 - m/n)Δ / std with the unbiased std
    Δ·sqrt(m(n-m) / (n(n-1))); advantages sum to 0, so Σ A_i (a_i - p) = m·A_refiner =
    sqrt(m(n-m)(n-1)/n), whatever Δ. Groups with m = 0 or n have equal rewards and add nothing.
    """
    return (
        sum(math.comb(n, m) * p**m * (1 - p) ** (n - m) * math.sqrt(m * (n - m) * (n - 1) / n) for m in range(1, n)) / n
    )


def one_step_gradient(config: sim.SimConfig) -> float:
    scorer = sim.GroupScorer(config)
    types = np.zeros(config.questions, dtype=int)
    logits = np.array([sim.logit(config.init_refine_prob)])
    return float(sim.train_step(scorer, logits, types, np.random.default_rng(config.seed))[0])


def test_grpo_advantages_match_verls_reference_estimator() -> None:
    rng = np.random.default_rng(0)
    rewards = rng.integers(0, 4, size=(50, 8)) * 0.5
    rewards[0] = 1.5  # all equal: no signal
    reference, _ = compute_grpo_outcome_advantage(
        torch.tensor(rewards.reshape(-1, 1), dtype=torch.float32),
        torch.ones(rewards.size, 1),
        np.repeat(np.arange(50), 8),
    )
    ours = sim.grpo_advantages(rewards)
    np.testing.assert_allclose(ours, reference.numpy().reshape(50, 8), atol=1e-5)
    assert not ours[0].any()
    # The unbiased (n - 1) std, as torch.std.
    row = rewards[1]
    np.testing.assert_allclose(ours[1], (row - row.mean()) / (row.std(ddof=1) + 1e-6), rtol=1e-5)


@pytest.mark.parametrize("mode", list(sim.MODES))
@pytest.mark.parametrize(("population", "sign"), [(ALWAYS_HELPS, 1.0), (ALWAYS_HURTS, -1.0)])
def test_one_step_gradient_matches_closed_form(mode: str, population: tuple[sim.TaskType, ...], sign: float) -> None:
    # Refining always wins (+3 vs +1) or always loses (0 vs +2) in every baseline mode.
    config = sim.SimConfig(mode=mode, population=population, questions=4000, n=8, init_refine_prob=0.5)
    expected = sign * expected_gradient(8, 0.5)
    assert one_step_gradient(config) == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize("mode", list(sim.MODES))
def test_tie_penalty_alone_pushes_back_on_needless_refining(mode: str) -> None:
    config = sim.SimConfig(mode=mode, population=ALWAYS_RIGHT, questions=4000, n=8, init_refine_prob=0.5)
    # Refined and plain answers are both right: refiners tie (1.5 vs 2.0) ...
    assert one_step_gradient(config) == pytest.approx(-expected_gradient(8, 0.5), abs=0.005)
    # ... and without the tie penalty every reward is equal: exactly no gradient.
    assert one_step_gradient(replace(config, refine_tie=0.0)) == 0.0


@pytest.mark.parametrize("mode", list(sim.MODES))
def test_training_follows_refining_when_it_always_helps(mode: str) -> None:
    config = sim.SimConfig(mode=mode, population=ALWAYS_HELPS, steps=100, questions=16)
    assert sim.simulate(config).refine_prob[-1, 0] > 0.95


@pytest.mark.parametrize("mode", list(sim.MODES))
def test_training_drops_refining_when_it_always_hurts(mode: str) -> None:
    config = sim.SimConfig(mode=mode, population=ALWAYS_HURTS, steps=100, questions=16)
    assert sim.simulate(config).refine_prob[-1, 0] < 0.05


def test_a_fallback_for_groups_without_baseline_cannot_change_the_refine_decision() -> None:
    # A group in which every sample refines has GRPO advantages summing to 0, so its gradient on the
    # refine logit, (1 - p) * sum(A), is 0 whatever bonus the fallback baseline hands out.
    base = sim.SimConfig(steps=30, questions=32, seed=3)
    plain = sim.simulate(replace(base, mode="in_group"))
    fallback = sim.simulate(replace(base, mode="in_group+precomputed_fallback", fallback_min_samples=1))
    assert plain.metrics["pasr/baseline_missing_rate"] > 0.0
    assert fallback.metrics["pasr/baseline_missing_rate"] == 0.0
    np.testing.assert_allclose(fallback.refine_prob, plain.refine_prob, atol=1e-5)


def test_runs_are_reproducible_and_independent_of_workers() -> None:
    configs = [sim.SimConfig(mode=mode, steps=10, questions=16, seed=1) for mode in ("in_group", "paired")]
    serial = sim.run_all(configs, workers=1)
    parallel = sim.run_all(configs, workers=2)
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(a.refine_prob, b.refine_prob)
        assert a.final() == b.final()
    other_seed = sim.simulate(replace(configs[0], seed=2))
    assert not np.array_equal(other_seed.refine_prob, serial[0].refine_prob)


def test_every_reward_comes_from_score_group(monkeypatch: pytest.MonkeyPatch) -> None:
    real = sim.score_group
    calls: list[int] = []

    def marked(samples: list[SampleScore], config: RewardConfig) -> list[GroupResult]:
        calls.append(len(samples))
        return [replace(result, score=result.score + 100.0) for result in real(samples, config)]

    monkeypatch.setattr(sim, "score_group", marked)
    config = sim.SimConfig(mode="paired", questions=64, n=4, k=3)
    scorer = sim.GroupScorer(config)
    types = np.arange(config.questions) % len(config.population)
    rng = np.random.default_rng(0)
    refine = np.sort(rng.random((64, 4)) < 0.5, axis=1)
    correct = np.zeros((64, 4), dtype=int)
    standard = np.ones((64, 3), dtype=int)
    rewards = sim.score_rollout(scorer, types, refine, correct, standard, stats=None)
    assert rewards.shape == (64, 4)
    assert (rewards >= 98.0).all()
    assert set(calls) == {4 + 3}  # policy and standard samples scored together
    assert len(calls) == len(scorer.cache) <= 64  # one call per distinct group
    # The token cost is a separate term, applied after the reward.
    costly = sim.score_rollout(
        sim.GroupScorer(replace(config, refine_cost=0.25)), types, refine, correct, standard, stats=None
    )
    np.testing.assert_allclose(costly, rewards - 0.25 * refine)


def test_cli_smoke(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    start = time.perf_counter()
    tiny = ["--steps", "4", "--questions", "16", "--seeds", "2", "--sweep", "modes", "--workers", "1"]
    sim.main(["--output-dir", str(tmp_path), *tiny])
    assert time.perf_counter() - start < 10
    lines = capsys.readouterr().out.strip().splitlines()
    expected = [f"refine_rate_{c}_{m}=" for m in sim.REPORTED_MODES for c in sim.CATEGORIES]
    assert [line.split("=")[0] + "=" for line in lines[-9:]] == expected
    assert all(re.fullmatch(r"[a-z_]+=\d\.\d\d", line) for line in lines[-9:])
    assert (tmp_path / "refine_prob.png").stat().st_size > 0
    assert "| default | in_group+precomputed_fallback |" in (tmp_path / "table.md").read_text()
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results["runs"]) == 2 * len(sim.MODES)


@pytest.mark.parametrize(("judged", "invalid_acc", "refiner_reward"), [(False, 0.0, 3.0), (True, 1.0, 1.5)])
def test_format_invalid_samples_score_zero_or_are_judged(judged: bool, invalid_acc: float, refiner_reward: float):
    """A right but format-invalid non-refiner: with acc 0 it drags the in_group baseline down to 0.5, so a
    right refiner wins (+1); judged, the baseline is 1 and the refiner ties (-0.5)."""
    config = sim.SimConfig(mode="in_group", n=3, score_invalid_format=judged)
    rewards = sim.score_rollout(
        sim.GroupScorer(config),
        types=np.array([0]),
        refine=np.array([[False, False, True]]),
        correct=np.array([[1, 1, 1]]),
        standard_correct=np.zeros((1, 0), dtype=int),
        stats=None,
        invalid=np.array([[True, False, False]]),
    )
    assert rewards[0].tolist() == [-1.0 + invalid_acc, 2.0, refiner_reward]


def test_noisy_graded_judge_grades_right_answers_high_and_wrong_ones_low():
    rng = np.random.default_rng(0)
    right = sim.draw_levels(rng, 10, np.ones(4000), 0.1)
    wrong = sim.draw_levels(rng, 10, np.zeros(4000), 0.1)
    assert right.min() >= 6 and wrong.max() <= 4 and 0 < (right < 10).mean() < 0.5
    assert wrong.min() == 0 and right.max() == 10  # clipped to the scale
    partial = sim.draw_levels(rng, 4, np.full(4000, 0.5), 0.0)  # no noise: partial credit, same mean
    assert set(np.unique(partial)) == {0, 1, 2, 3, 4} and abs(partial.mean() / 4 - 0.5) < 0.02


def test_fidelity_sweep_pairs_differ_only_in_the_setting_under_test():
    scenarios = {name: overrides for name, overrides, _ in sim.FIDELITY_SCENARIOS}
    for name, overrides in scenarios.items():
        if name.endswith(": judged"):
            partner = scenarios[name.replace(": judged", ": acc 0")]
            assert overrides == {**partner, "score_invalid_format": True}
    assert all(name in [n for n, _, _ in sim.SWEEPS["full"]] for name in scenarios)
    assert sim.SimConfig(tie_tolerance=0.15).reward_config().tie_tolerance == 0.15
