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

"""A small simulation of what PASR's comparison-based reward teaches, per baseline mode.

PASR claims its refinement bonus teaches a model to refine where refining helps and to skip it where
it does not. Whether that holds depends on the baseline the bonus compares against, the tie penalty
and the bonus weight, and GPU runs are too expensive to settle it. This module answers the question
on a toy problem in a minute on a CPU:

* a population of question types, each with a probability of being answered correctly without
  refining (``p_plain``) and with refining (``p_refine``): refining helps, is neutral or hurts;
* a policy that is nothing but one learnable refine logit per question type;
* GRPO as verl runs it: ``n`` samples per question, every reward from the project's own
  :func:`recipe.pasr.reward.score_group` (accuracy a Bernoulli draw, or a binomial one for a graded
  judge; the format valid unless ``invalid_plain``/``invalid_refine`` make some responses break it,
  which then score acc 0 or, with ``score_invalid_format``, are judged like any other), advantages
  from verl's own GRPO function, then one on-policy policy-gradient step per batch.

Baseline modes (``MODES``): ``in_group`` (the project's default: the group's non-refining samples),
``paired`` (``k`` standard samples per question, the paper's way), ``precomputed`` (a fixed value in
the data; here the exact expected accuracy of a standard, non-refining answer, ``p_plain``, i.e. the
initial model's standard answers scored with unlimited samples: the answer skill never changes, so
it stays exact) and ``in_group+precomputed_fallback`` (the proposed safeguard: ``in_group`` while a
group has ``fallback_min_samples`` non-refining samples, else the precomputed value).

It is not a language model: there is no text, no credit assignment inside a response, no sharing of
what is learned between question types, and the answer skill itself never improves. It shows the
incentives the reward creates, not how fast a real model follows them.

Run ``python -m recipe.pasr.tools.simulate`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from verl.trainer.ppo.core_algos import compute_grpo_vectorized_outcome_advantage

from recipe.pasr.metrics import RefineStats
from recipe.pasr.reward import (
    BaselineFallback,
    BaselineMode,
    GroupResult,
    RewardConfig,
    Role,
    SampleScore,
    result_record,
    score_group,
)
from recipe.pasr.tools.reporting import save_figure

# verl's default GRPO epsilon (``compute_grpo_outcome_advantage(epsilon=1e-6)``).
GRPO_EPSILON = 1e-6
CATEGORIES = ("helps", "neutral", "hurts")
# Modes whose figures end the CLI's stdout, one ``refine_rate_<category>_<mode>=`` line each.
REPORTED_MODES = ("in_group", "paired", "precomputed")


@dataclass(frozen=True)
class TaskType:
    """A kind of question: how likely an answer is correct without and with refining."""

    name: str
    p_plain: float
    p_refine: float

    @property
    def category(self) -> str:
        if self.p_refine > self.p_plain:
            return "helps"
        return "hurts" if self.p_refine < self.p_plain else "neutral"


# Refining helps, is neutral or hurts at three difficulties. The easy and hard neutral types make
# refined and plain answers agree almost always (both right, both wrong): the tie case of the bonus.
DEFAULT_POPULATION = (
    TaskType("helps_hard", 0.2, 0.5),
    TaskType("helps_mid", 0.5, 0.8),
    TaskType("helps_easy", 0.8, 0.95),
    TaskType("neutral_easy", 0.95, 0.95),
    TaskType("neutral_mid", 0.5, 0.5),
    TaskType("neutral_hard", 0.05, 0.05),
    TaskType("hurts_mid", 0.6, 0.4),
    TaskType("hurts_easy", 0.9, 0.8),
)


@dataclass(frozen=True)
class Mode:
    """Where the bonus's baseline comes from: a reward-config baseline plus what the data carries."""

    name: str
    baseline: BaselineMode
    fallback: BaselineFallback = BaselineFallback.NONE

    @property
    def generates_standard(self) -> bool:
        return self.baseline is BaselineMode.PAIRED

    @property
    def carries_precomputed(self) -> bool:
        return self.baseline is BaselineMode.PRECOMPUTED or self.fallback is BaselineFallback.PRECOMPUTED


MODES = {
    mode.name: mode
    for mode in (
        Mode("in_group", BaselineMode.IN_GROUP),
        Mode("paired", BaselineMode.PAIRED),
        Mode("precomputed", BaselineMode.PRECOMPUTED),
        # The proposed safeguard: in_group while a group has enough non-refiners, else precomputed.
        Mode("in_group+precomputed_fallback", BaselineMode.IN_GROUP, BaselineFallback.PRECOMPUTED),
    )
}


@dataclass(frozen=True)
class SimConfig:
    """One training run. ``k=None`` means as many standard samples per question as policy samples."""

    mode: str = "in_group"
    population: tuple[TaskType, ...] = DEFAULT_POPULATION
    steps: int = 200
    questions: int = 64
    n: int = 8
    k: int | None = None
    lr: float = 2.0
    init_refine_prob: float = 0.5
    refine_tie: float = -0.5
    tie_tolerance: float = RewardConfig.tie_tolerance
    bonus_weight: float = 1.0
    # 1: acc is 0 or 1 (rules, 0/1 judges); L > 1: acc in {0, 1/L, ..., 1} (a graded judge), same mean.
    acc_levels: int = 1
    # > 0: a graded judge grading right-or-wrong answers: acc = the answer's 0/1 correctness plus Gaussian
    # noise of this std, rounded to the acc_levels grid and clipped to [0, 1] (instead of partial credit).
    acc_noise: float = 0.0
    # Probability that a non-refining / refining response breaks the format (it scores format_invalid).
    invalid_plain: float = 0.0
    invalid_refine: float = 0.0
    # A format-invalid response is still judged (the paper's code) instead of getting acc 0 (pasr's default).
    score_invalid_format: bool = False
    # Non-refining samples an in_group baseline needs in the fallback mode (plain in_group: 1).
    fallback_min_samples: int = 2
    refine_cost: float = 0.0
    seed: int = 0
    # Reward metrics (tie rate, missing baseline, ...) are collected over this many final steps.
    metrics_window: int = 20

    @property
    def standard_samples(self) -> int:
        if not MODES[self.mode].generates_standard:
            return 0
        return self.n if self.k is None else self.k

    @property
    def generations_per_step(self) -> int:
        return self.questions * (self.n + self.standard_samples)

    def reward_config(self) -> RewardConfig:
        mode = MODES[self.mode]
        return RewardConfig(
            baseline=mode.baseline,
            baseline_fallback=mode.fallback,
            min_baseline_samples=1 if mode.fallback is BaselineFallback.NONE else self.fallback_min_samples,
            refine_tie=self.refine_tie,
            tie_tolerance=self.tie_tolerance,
            bonus_weight=self.bonus_weight,
        )


@dataclass
class RunResult:
    """Refine probability per type over training (``steps + 1`` rows) and the final steps' reward metrics."""

    config: SimConfig
    refine_prob: np.ndarray
    metrics: dict[str, float]

    def final(self) -> dict[str, float]:
        """Figures of the trained policy: exact expectations from its refine probabilities, plus metrics."""
        population = self.config.population
        probs = self.refine_prob[-1]
        plain = np.array([task.p_plain for task in population])
        refined = np.array([task.p_refine for task in population])
        summary = {
            f"refine_rate_{category}": float(
                np.mean([p for p, task in zip(probs, population, strict=True) if task.category == category])
            )
            for category in CATEGORIES
            if any(task.category == category for task in population)
        }
        summary["accuracy"] = float(np.mean(probs * refined + (1 - probs) * plain))
        summary["refines_per_question"] = float(np.mean(probs))
        summary["baseline_missing_rate"] = self.metrics["pasr/baseline_missing_rate"]
        summary["refine_tie_rate"] = self.metrics["pasr/refine_tie_rate"]
        summary["generations_per_step"] = float(self.config.generations_per_step)
        return summary


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def grpo_advantages(rewards: np.ndarray) -> np.ndarray:
    """GRPO advantages of a (questions, n) reward array, each row one group (one verl ``uid``).

    verl's vectorised GRPO: the same (score - group mean) / (unbiased std + epsilon) as
    ``compute_grpo_outcome_advantage`` (which ``adv_estimator: grpo`` runs; the tests check they agree),
    without its per-sample Python loop, which would take most of the simulation's time.
    """
    questions, n = rewards.shape
    scores = torch.as_tensor(rewards.reshape(-1, 1), dtype=torch.float32)
    index = np.repeat(np.arange(questions), n)
    advantages, _ = compute_grpo_vectorized_outcome_advantage(
        scores, torch.ones_like(scores), index, epsilon=GRPO_EPSILON, norm_adv_by_std_in_grpo=True
    )
    return advantages.numpy().reshape(questions, n).astype(np.float64)


# (question type, refine decisions, correct levels of the policy samples, of the standard samples,
# format-invalid flags of the policy samples)
GroupKey = tuple[int, tuple[bool, ...], tuple[int, ...], tuple[int, ...], tuple[bool, ...]]


@dataclass
class ScoredGroup:
    """What :func:`score_group` returned for one group, kept with the samples it was given."""

    samples: list[SampleScore]
    results: list[GroupResult]

    @cached_property
    def policy_scores(self) -> list[float]:
        return [
            result.score
            for sample, result in zip(self.samples, self.results, strict=True)
            if sample.role is Role.POLICY
        ]

    @cached_property
    def records(self) -> list[dict[str, object]]:
        return [result_record(sample, result) for sample, result in zip(self.samples, self.results, strict=True)]


class GroupScorer:
    """Rewards of simulated groups, each from one :func:`score_group` call on the group's samples.

    Samples of a group are exchangeable, so :func:`train_step` sorts each group into a canonical
    order; identical groups (same question type, same sorted draws) then recur often, and since
    :func:`score_group` is a pure function its answer is kept and reused. That makes the simulation
    several times faster without a line of reward logic outside ``score_group``.
    """

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.reward_config = config.reward_config()
        self.precomputed = MODES[config.mode].carries_precomputed
        self.cache: dict[GroupKey, ScoredGroup] = {}

    def __call__(self, key: GroupKey) -> ScoredGroup:
        scored = self.cache.get(key)
        if scored is None:
            scored = self.cache[key] = self._score(*key)
        return scored

    def _score(
        self,
        task_index: int,
        refine: tuple[bool, ...],
        correct: tuple[int, ...],
        standard_correct: tuple[int, ...],
        invalid: tuple[bool, ...],
    ) -> ScoredGroup:
        # A precomputed baseline is the standard (non-refining) answer's exact expected accuracy.
        baseline_acc = self.config.population[task_index].p_plain if self.precomputed else None
        levels = self.config.acc_levels
        judged = self.config.score_invalid_format
        samples = [
            SampleScore(
                role=Role.POLICY,
                format_ok=not broken,
                is_refine=is_refine,
                num_refine=int(is_refine),
                acc=level / levels if judged or not broken else self.reward_config.missing_answer_acc,
                baseline_acc=baseline_acc,
            )
            for is_refine, level, broken in zip(refine, correct, invalid, strict=True)
        ]
        samples += [SampleScore(role=Role.STANDARD, acc=level / levels) for level in standard_correct]
        return ScoredGroup(samples, score_group(samples, self.reward_config))


def score_rollout(
    scorer: GroupScorer,
    types: np.ndarray,
    refine: np.ndarray,
    correct: np.ndarray,
    standard_correct: np.ndarray,
    stats: RefineStats | None,
    invalid: np.ndarray | None = None,
) -> np.ndarray:
    """Rewards of the policy samples, (questions, n); ``stats``, if given, collects the ``pasr/*`` metrics.

    ``correct`` and ``standard_correct`` count accuracy in levels (acc = level / ``acc_levels``);
    ``invalid`` flags format-invalid policy samples (default none). The optional token cost per
    refinement is not part of PASR's reward: it is subtracted afterwards.
    """
    if invalid is None:
        invalid = np.zeros_like(refine, dtype=bool)
    keys = zip(
        types.tolist(),
        map(tuple, refine.tolist()),
        map(tuple, correct.tolist()),
        map(tuple, standard_correct.tolist()),
        map(tuple, invalid.tolist()),
        strict=True,
    )
    rewards = []
    for key in keys:
        scored = scorer(key)
        rewards.append(scored.policy_scores)
        if stats is not None:
            for record in scored.records:
                stats.add(record)
    return np.array(rewards) - scorer.config.refine_cost * refine


def draw_levels(rng: np.random.Generator, levels: int, p: np.ndarray, noise: float) -> np.ndarray:
    """Accuracy levels (acc = level / levels): partial credit (binomial), or 0/1 correctness graded noisily."""
    if noise <= 0:
        return rng.binomial(levels, p)
    right = rng.random(p.shape) < p
    return np.clip(np.rint(levels * (right + rng.normal(0.0, noise, p.shape))), 0, levels).astype(int)


def train_step(
    scorer: GroupScorer,
    logits: np.ndarray,
    types: np.ndarray,
    rng: np.random.Generator,
    stats: RefineStats | None = None,
) -> np.ndarray:
    """Sample, score, compute GRPO advantages and return the policy-gradient ascent direction.

    One on-policy update per batch, so the PPO ratio is 1 and clipping never acts: the step is
    REINFORCE with GRPO advantages. For a Bernoulli decision with logit θ, ∇θ log π(a) = a - σ(θ); the
    gradient is averaged over all responses of the batch, as verl's ``token-mean`` does with one token.
    """
    config = scorer.config
    levels = config.acc_levels
    plain = np.array([task.p_plain for task in config.population])[types][:, None]
    refined = np.array([task.p_refine for task in config.population])[types][:, None]
    probs = sigmoid(logits)[types][:, None]
    refine = rng.random((config.questions, config.n)) < probs
    correct = draw_levels(rng, levels, np.where(refine, refined, plain), config.acc_noise)
    invalid = np.zeros_like(refine)
    if config.invalid_plain or config.invalid_refine:  # no extra draws otherwise: default runs stay as they were
        invalid = rng.random(refine.shape) < np.where(refine, config.invalid_refine, config.invalid_plain)
    # Canonical order within each group (refine, then format, then acc): see GroupScorer.
    base = levels + 1
    codes = np.sort((2 * refine + invalid) * base + correct, axis=1)
    refine, invalid, correct = codes >= 2 * base, (codes // base) % 2 == 1, codes % base
    standard_shape = (config.questions, config.standard_samples)
    standard_p = np.broadcast_to(plain, standard_shape)
    standard_correct = np.sort(draw_levels(rng, levels, standard_p, config.acc_noise), axis=1)
    rewards = score_rollout(scorer, types, refine, correct, standard_correct, stats, invalid)
    advantages = grpo_advantages(rewards)
    per_question = (advantages * (refine - probs)).sum(axis=1)
    return np.bincount(types, weights=per_question, minlength=len(config.population)) / refine.size


def simulate(config: SimConfig) -> RunResult:
    """Train one policy; every question type gets the same share of each batch (round robin)."""
    if config.mode not in MODES:
        raise ValueError(f"unknown mode {config.mode!r}; choose from {sorted(MODES)}")
    rng = np.random.default_rng(config.seed)
    num_types = len(config.population)
    types = np.arange(config.questions) % num_types
    logits = np.full(num_types, logit(config.init_refine_prob))
    trajectory = [sigmoid(logits)]
    scorer = GroupScorer(config)
    stats = RefineStats()
    for step in range(config.steps):
        in_window = step >= config.steps - config.metrics_window
        logits = logits + config.lr * train_step(scorer, logits, types, rng, stats if in_window else None)
        trajectory.append(sigmoid(logits))
    return RunResult(config, np.array(trajectory), stats.as_metrics())


# A scenario changes some defaults and runs the listed modes. With bonus weight 0 the baseline is
# unused, so one mode stands for all: the accuracy-only control.
SCENARIOS: tuple[tuple[str, dict[str, float], tuple[str, ...]], ...] = (
    ("default", {}, tuple(MODES)),
    ("tie=0", {"refine_tie": 0.0}, tuple(MODES)),
    ("bonus=0 (acc only)", {"bonus_weight": 0.0}, ("in_group",)),
    ("bonus=0.5", {"bonus_weight": 0.5}, tuple(MODES)),
    ("bonus=2", {"bonus_weight": 2.0}, tuple(MODES)),
    ("n=4", {"n": 4}, tuple(MODES)),
    ("n=16", {"n": 16}, tuple(MODES)),
    ("init=0.9", {"init_refine_prob": 0.9}, tuple(MODES)),
    ("fallback m=1", {"fallback_min_samples": 1}, ("in_group+precomputed_fallback",)),
    ("fallback m=4", {"fallback_min_samples": 4}, ("in_group+precomputed_fallback",)),
    ("graded acc (4 levels)", {"acc_levels": 4}, tuple(MODES)),
)
# The three defaults of issue 11 (``--sweep fidelity``): graded vs 0/1 accuracy, and whether a
# format-invalid response is judged or gets acc 0, when formats break evenly or more often in refining
# responses. Each pair differs only in the setting under test.
_INVALID_EVEN = {"invalid_plain": 0.2, "invalid_refine": 0.2}
_INVALID_REFINERS = {"invalid_plain": 0.1, "invalid_refine": 0.3}
_PAPER_MODES = ("in_group", "paired")
FIDELITY_SCENARIOS: tuple[tuple[str, dict[str, float], tuple[str, ...]], ...] = (
    ("default", {}, _PAPER_MODES),
    ("graded acc (10 levels)", {"acc_levels": 10}, _PAPER_MODES),
    ("graded 0/1 answers, noise 0.1", {"acc_levels": 10, "acc_noise": 0.1}, _PAPER_MODES),
    ("graded 0/1 answers, noise 0.2", {"acc_levels": 10, "acc_noise": 0.2}, _PAPER_MODES),
    ("graded, noise 0.1, ties within 0.15", {"acc_levels": 10, "acc_noise": 0.1, "tie_tolerance": 0.15}, _PAPER_MODES),
    ("invalid 20%: acc 0", _INVALID_EVEN, _PAPER_MODES),
    ("invalid 20%: judged", {**_INVALID_EVEN, "score_invalid_format": True}, _PAPER_MODES),
    ("invalid 10%/30% refining: acc 0", _INVALID_REFINERS, _PAPER_MODES),
    ("invalid 10%/30% refining: judged", {**_INVALID_REFINERS, "score_invalid_format": True}, _PAPER_MODES),
)
SWEEPS = {"full": SCENARIOS + FIDELITY_SCENARIOS[1:], "modes": SCENARIOS[:1], "fidelity": FIDELITY_SCENARIOS}


def build_sweep(base: SimConfig, seeds: Sequence[int], sweep: str) -> list[tuple[str, SimConfig]]:
    scenarios = SWEEPS[sweep]
    return [
        (name, replace(base, mode=mode, seed=seed, **overrides))
        for name, overrides, modes in scenarios
        for mode in modes
        for seed in seeds
    ]


def _init_worker() -> None:
    # The tensors are tiny: one thread per process, or workers fight over the cores.
    torch.set_num_threads(1)


def run_all(configs: Sequence[SimConfig], workers: int) -> list[RunResult]:
    """Runs are independent and seeded, so results do not depend on the number of workers."""
    if workers <= 1:
        return [simulate(config) for config in configs]
    with ProcessPoolExecutor(workers, initializer=_init_worker) as pool:
        return list(pool.map(simulate, configs))


@dataclass
class Row:
    """Mean and spread over seeds of one (scenario, mode)."""

    scenario: str
    mode: str
    mean: dict[str, float]
    std: dict[str, float]
    refine_prob_mean: np.ndarray
    refine_prob_min: np.ndarray
    refine_prob_max: np.ndarray


def aggregate(sweep: Sequence[tuple[str, SimConfig]], results: Sequence[RunResult]) -> list[Row]:
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for (scenario, config), result in zip(sweep, results, strict=True):
        groups.setdefault((scenario, config.mode), []).append(result)
    rows = []
    for (scenario, mode), runs in groups.items():
        finals = [run.final() for run in runs]
        trajectories = np.stack([run.refine_prob for run in runs])
        rows.append(
            Row(
                scenario,
                mode,
                {key: float(np.mean([f[key] for f in finals])) for key in finals[0]},
                {key: float(np.std([f[key] for f in finals])) for key in finals[0]},
                trajectories.mean(axis=0),
                trajectories.min(axis=0),
                trajectories.max(axis=0),
            )
        )
    return rows


def population_note(population: Sequence[TaskType], init_refine_prob: float) -> str:
    plain = np.array([task.p_plain for task in population])
    refined = np.array([task.p_refine for task in population])
    types = ", ".join(f"{t.name} {t.p_plain:.2f}->{t.p_refine:.2f}" for t in population)
    init = init_refine_prob * refined + (1 - init_refine_prob) * plain
    return (
        f"Population (p correct plain->refined): {types}. Accuracy: never refine {plain.mean():.3f}, "
        f"always refine {refined.mean():.3f}, initial policy {init.mean():.3f}, "
        f"best (refine exactly where it helps) {np.maximum(plain, refined).mean():.3f}."
    )


def markdown_table(rows: Sequence[Row]) -> str:
    """Mean ± std over seeds, one line per (scenario, mode).

    Refine rates and accuracy are the trained policy's expectations; ties (share of refining samples
    whose bonus was a tie) and no baseline (share that got no bonus) are measured over the last
    ``metrics_window`` steps.
    """
    columns = [  # (key, title, decimals)
        ("refine_rate_helps", "refine: helps", 2),
        ("refine_rate_neutral", "refine: neutral", 2),
        ("refine_rate_hurts", "refine: hurts", 2),
        ("accuracy", "accuracy", 3),
        ("refines_per_question", "refines/question", 2),
        ("refine_tie_rate", "ties", 2),
        ("baseline_missing_rate", "no baseline", 2),
    ]
    header = "| scenario | mode | " + " | ".join(title for _, title, _ in columns) + " | generations/step |"
    lines = [header, "|" + "---|" * (len(columns) + 3)]
    for row in rows:
        cells = [f"{row.mean[key]:.{d}f} ± {row.std[key]:.{d}f}" for key, _, d in columns]
        gens = int(row.mean["generations_per_step"])
        lines.append(f"| {row.scenario} | {row.mode} | " + " | ".join(cells) + f" | {gens} |")
    return "\n".join(lines)


def plot(rows: Sequence[Row], population: Sequence[TaskType], path: Path) -> None:
    """Refine probability per question type over training: one row of panels per scenario, one per mode."""
    save_figure(figure(rows, population), path, dpi=110, bbox_inches="tight")  # keeps the outside legend in the image


def figure(rows: Sequence[Row], population: Sequence[TaskType]) -> Any:
    """The figure of :func:`plot` (a matplotlib Figure; tests check its layout)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = [s for s in ("default", "init=0.9") if any(row.scenario == s for row in rows)]
    modes = [mode for mode in MODES if any(row.mode == mode for row in rows)]
    colors = {"helps": "tab:green", "neutral": "tab:blue", "hurts": "tab:red"}
    styles = ("-", "--", ":")
    fig, axes = plt.subplots(
        len(scenarios), len(modes), figsize=(4 * len(modes), 3.2 * len(scenarios)), squeeze=False, sharey=True
    )
    for i, scenario in enumerate(scenarios):
        for j, mode in enumerate(modes):
            ax = axes[i][j]
            row = next(r for r in rows if r.scenario == scenario and r.mode == mode)
            steps = np.arange(len(row.refine_prob_mean))
            seen = dict.fromkeys(CATEGORIES, 0)
            for t, task in enumerate(population):
                style = styles[seen[task.category] % len(styles)]
                seen[task.category] += 1
                color = colors[task.category]
                ax.plot(steps, row.refine_prob_mean[:, t], style, color=color, label=task.name, lw=1.4)
                ax.fill_between(steps, row.refine_prob_min[:, t], row.refine_prob_max[:, t], color=color, alpha=0.1)
            ax.set_title(f"{mode} ({scenario})", fontsize=9)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
        axes[i][0].set_ylabel("refine probability")
    # One legend to the right of all panels: inside a panel it covers the curves.
    fig.legend(*axes[0][-1].get_legend_handles_labels(), fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle("Learned refine probability per question type (mean over seeds, band: min-max)", fontsize=10)
    fig.tight_layout()
    return fig


def write_outputs(
    output_dir: Path, base: SimConfig, seeds: Sequence[int], rows: Sequence[Row], results: Sequence[RunResult]
) -> str:
    """Write table.md, results.json and refine_prob.png; return the markdown."""
    output_dir.mkdir(parents=True, exist_ok=True)
    note = population_note(base.population, base.init_refine_prob)
    table = markdown_table(rows)
    (output_dir / "table.md").write_text(f"{note}\n\n{table}\n")
    payload = {
        "base_config": asdict(base),
        "seeds": list(seeds),
        "rows": [
            {
                "scenario": row.scenario,
                "mode": row.mode,
                "mean": row.mean,
                "std": row.std,
                "refine_prob_mean": row.refine_prob_mean.round(4).tolist(),
            }
            for row in rows
        ],
        "runs": [{"config": asdict(result.config), "final": result.final()} for result in results],
    }
    (output_dir / "results.json").write_text(json.dumps(payload, indent=1))
    plot(rows, base.population, output_dir / "refine_prob.png")
    return f"{note}\n\n{table}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = SimConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=Path("runs/simulate"))
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (0 .. seeds-1) per setting")
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--questions", type=int, default=defaults.questions, help="questions (groups) per step")
    parser.add_argument("--n", type=int, default=defaults.n, help="policy samples per question")
    parser.add_argument("--k", type=int, default=None, help="standard samples per question for paired (default n)")
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--init-refine-prob", type=float, default=defaults.init_refine_prob)
    parser.add_argument("--refine-tie", type=float, default=defaults.refine_tie)
    parser.add_argument("--bonus-weight", type=float, default=defaults.bonus_weight)
    parser.add_argument(
        "--acc-levels", type=int, default=defaults.acc_levels, help="1: binary acc; L: acc in {0, 1/L, ..., 1}"
    )
    parser.add_argument(
        "--fallback-min-samples",
        type=int,
        default=defaults.fallback_min_samples,
        help="in_group+precomputed_fallback: non-refining samples a group needs before its own baseline counts",
    )
    parser.add_argument(
        "--refine-cost",
        type=float,
        default=defaults.refine_cost,
        help="reward subtracted per refinement, outside PASR's reward (a stand-in for token cost)",
    )
    parser.add_argument(
        "--sweep",
        choices=tuple(SWEEPS),
        default="full",
        help="full: all scenarios; modes: defaults only; fidelity: graded acc and format-invalid scoring",
    )
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    base = SimConfig(
        steps=args.steps,
        questions=args.questions,
        n=args.n,
        k=args.k,
        lr=args.lr,
        init_refine_prob=args.init_refine_prob,
        refine_tie=args.refine_tie,
        bonus_weight=args.bonus_weight,
        acc_levels=args.acc_levels,
        fallback_min_samples=args.fallback_min_samples,
        refine_cost=args.refine_cost,
    )
    seeds = list(range(args.seeds))
    sweep = build_sweep(base, seeds, args.sweep)
    results = run_all([config for _, config in sweep], args.workers)
    rows = aggregate(sweep, results)
    print(write_outputs(args.output_dir, base, seeds, rows, results))
    print(f"\n{len(results)} runs in {time.perf_counter() - start:.1f} s; outputs in {args.output_dir}")
    defaults = {row.mode: row.mean for row in rows if row.scenario == "default"}
    for mode in (mode for mode in REPORTED_MODES if mode in defaults):
        for category in CATEGORIES:
            print(f"refine_rate_{category}_{mode}={defaults[mode][f'refine_rate_{category}']:.2f}")


if __name__ == "__main__":
    main()
