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

"""The PASR reward: format, refinement bonus over a group, totals.

``R(y') = w_format * r_format + w_acc * r_acc + w_bonus * r_refine``. The first two are per
response (:class:`SampleScore`, filled by :mod:`recipe.pasr.scoring.sample`); the bonus needs the
group of responses to the same prompt, and is computed here by :func:`score_group`, the one
function every caller (verl group hook, offline CLI, simulator) goes through.

Pure Python, no verl import.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

from recipe.pasr.enums import StrEnum
from recipe.pasr.response import EmptyRefine


class Role(StrEnum):
    POLICY = "policy"  # a PASR response: trained on, gets the full reward
    STANDARD = "standard"  # a standard-prompt response: only a baseline, never trained on


class BaselineMode(StrEnum):
    IN_GROUP = "in_group"  # mean acc of the group's non-refining policy responses (no extra rollouts)
    PAIRED = "paired"  # mean acc of separately generated standard responses (the paper's way)
    # A per-prompt ``baseline_acc`` carried in the data. With 0/1 accuracy an exact mean never ties,
    # so every correct refined answer wins: recipe.pasr.tools.simulate shows this teaches refining on easy
    # questions even where it hurts. Prefer a mean of a few standard samples.
    PRECOMPUTED = "precomputed"


class BaselineSource(StrEnum):
    IN_GROUP = "in_group"
    PAIRED = "paired"
    PRECOMPUTED = "precomputed"
    NONE = "none"


class BaselineFallback(StrEnum):
    PRECOMPUTED = "precomputed"  # use ``baseline_acc`` when the record has one, else no bonus
    NONE = "none"  # no bonus


class JudgeFailurePolicy(StrEnum):
    RAISE = "raise"  # stop: a judge failure is an error
    NEUTRALIZE_GROUP = "neutralize_group"  # every response of the prompt gets the same score: no gradient
    ZERO = "zero"  # the failed response counts as acc 0 (still reported as a failure)


class RefineOutcome(StrEnum):
    WIN = "win"
    LOSS = "loss"
    TIE = "tie"


@dataclass
class RewardConfig:
    """Reward settings; defaults are the paper's. Mirrored by the ``pasr.reward`` Hydra section."""

    format_valid: float = 1.0
    format_invalid: float = -1.0
    refine_win: float = 1.0
    refine_loss: float = -1.0
    refine_tie: float = -0.5
    tie_tolerance: float = 1e-6
    format_weight: float = 1.0
    acc_weight: float = 1.0
    bonus_weight: float = 1.0
    baseline: BaselineMode = BaselineMode.IN_GROUP
    baseline_fallback: BaselineFallback = BaselineFallback.PRECOMPUTED
    # A group needs this many usable baseline responses before their mean counts as a baseline.
    min_baseline_samples: int = 1
    # acc given to a response with no extractable answer (invalid format or no answer block).
    missing_answer_acc: float = 0.0
    # Score the answer block of a response whose format is invalid, as the authors judged every response.
    # Giving it acc 0 instead drags the in_group baseline down and lets refiners win too easily
    # (README, differences table; ``python -m recipe.pasr.tools.simulate --sweep fidelity``).
    score_invalid_format: bool = True
    # An empty refine block: ``invalid`` (format invalid, not refining) or ``counts`` (a refine block,
    # as the authors' code had it). A judgement call: see the README's differences table.
    empty_refine: EmptyRefine = EmptyRefine.INVALID
    judge_failure_policy: JudgeFailurePolicy = JudgeFailurePolicy.NEUTRALIZE_GROUP
    neutralized_score: float = 0.0
    # Above this failure rate among judged responses (after judge_failure_min_count of them) raise.
    judge_failure_max_rate: float = 0.1
    judge_failure_min_count: int = 50

    def __post_init__(self) -> None:
        self.baseline = BaselineMode(self.baseline)
        self.baseline_fallback = BaselineFallback(self.baseline_fallback)
        self.judge_failure_policy = JudgeFailurePolicy(self.judge_failure_policy)
        self.empty_refine = EmptyRefine(self.empty_refine)
        if self.min_baseline_samples < 1:
            raise ValueError(f"min_baseline_samples must be >= 1, got {self.min_baseline_samples}")
        if not 0.0 <= self.judge_failure_max_rate <= 1.0:
            raise ValueError(f"judge_failure_max_rate must be in [0, 1], got {self.judge_failure_max_rate}")
        if self.tie_tolerance < 0:
            raise ValueError(f"tie_tolerance must be >= 0, got {self.tie_tolerance}")


@dataclass
class SampleScore:
    """Per-response part of the reward (everything that does not need the group)."""

    role: Role = Role.POLICY
    format_ok: bool | None = None  # None for standard responses: no format is asked of them
    format_error: str | None = None  # why the format is invalid (recipe.pasr.response), for debugging
    is_refine: bool = False
    num_refine: int = 0
    answer: str | None = None  # the answer text that was scored
    extracted: str | None = None  # what a rule scorer extracted from it (a number, a letter, ...)
    acc: float | None = None  # None only when the judge failed
    judge_failed: bool = False
    judge_error: str | None = None
    judge_deduplicated: bool = False  # the verdict was shared from an identical judge request
    # Judge request telemetry (recipe.pasr.scoring.judge.JudgeVerdict), for the pasr/judge/* metrics.
    judge_attempts: int = 0
    judge_failure_kind: str | None = None
    judge_started_at: float | None = None
    judge_latency_s: float | None = None
    scorer: str = "rule"  # rule | judge | none (no answer to score)
    # The task's rule found no single answer in it (then judged under scorer "fallback", else acc 0).
    rule_unresolved: bool = False
    baseline_acc: float | None = None  # a precomputed baseline from the data, if any


@dataclass
class GroupResult:
    """Group-level part of the reward for one response."""

    format_score: float
    acc_score: float  # acc as it enters the total (after the failure policy)
    baseline: float | None
    baseline_source: BaselineSource
    refine_bonus: float
    refine_outcome: RefineOutcome | None
    neutralized: bool
    score: float


class JudgeFailureError(RuntimeError):
    """A judge failure under policy ``raise``, or a failure rate above the configured threshold."""


def format_score(format_ok: bool, config: RewardConfig) -> float:
    return config.format_valid if format_ok else config.format_invalid


def refinement_bonus(acc: float, baseline: float, config: RewardConfig) -> tuple[float, RefineOutcome]:
    """+win if the refining response beat the baseline, loss if worse, tie penalty if equal."""
    if abs(acc - baseline) <= config.tie_tolerance:
        return config.refine_tie, RefineOutcome.TIE
    if acc > baseline:
        return config.refine_win, RefineOutcome.WIN
    return config.refine_loss, RefineOutcome.LOSS


def group_baseline(samples: Sequence[SampleScore], config: RewardConfig) -> tuple[float | None, BaselineSource]:
    """The group's baseline accuracy and where it came from (one baseline per prompt)."""
    if config.baseline is BaselineMode.IN_GROUP:
        pool = [s.acc for s in samples if s.role is Role.POLICY and not s.is_refine and not s.judge_failed]
        source = BaselineSource.IN_GROUP
    elif config.baseline is BaselineMode.PAIRED:
        pool = [s.acc for s in samples if s.role is Role.STANDARD and not s.judge_failed]
        source = BaselineSource.PAIRED
    else:
        pool, source = [], BaselineSource.PRECOMPUTED
    usable = [acc for acc in pool if acc is not None]
    if len(usable) >= config.min_baseline_samples:
        return sum(usable) / len(usable), source
    if config.baseline is BaselineMode.PRECOMPUTED or config.baseline_fallback is BaselineFallback.PRECOMPUTED:
        # A missing value read from a dataframe is NaN, not None: it is no baseline either.
        carried = (s.baseline_acc for s in samples if s.baseline_acc is not None and not math.isnan(s.baseline_acc))
        precomputed = next(carried, None)
        if precomputed is not None:
            return float(precomputed), BaselineSource.PRECOMPUTED
    return None, BaselineSource.NONE


def score_group(samples: Sequence[SampleScore], config: RewardConfig) -> list[GroupResult]:
    """Bonus and total for every response to one prompt (policy and standard alike, same order).

    Standard responses get no format reward and no bonus: they only feed the ``paired`` baseline.
    """
    failed = [s for s in samples if s.judge_failed]
    if failed and config.judge_failure_policy is JudgeFailurePolicy.RAISE:
        raise JudgeFailureError(f"judge failed on {len(failed)} response(s) of a group: {failed[0].judge_error}")
    # A failed standard response only drops out of the baseline; a failed policy response has no reward.
    policy_failed = any(s.role is Role.POLICY for s in failed)
    neutralize = policy_failed and config.judge_failure_policy is JudgeFailurePolicy.NEUTRALIZE_GROUP
    baseline, source = group_baseline(samples, config)
    results = []
    for sample in samples:
        acc = sample.acc if sample.acc is not None else 0.0  # only reached for failures under ZERO/NEUTRALIZE
        if sample.role is Role.STANDARD:
            score = config.neutralized_score if neutralize else acc
            results.append(GroupResult(0.0, acc, baseline, source, 0.0, None, neutralize, score))
            continue
        fmt = format_score(bool(sample.format_ok), config)
        bonus, outcome = 0.0, None
        if sample.is_refine and baseline is not None and not neutralize:
            bonus, outcome = refinement_bonus(acc, baseline, config)
        total = config.format_weight * fmt + config.acc_weight * acc + config.bonus_weight * bonus
        if neutralize:
            total = config.neutralized_score
        results.append(GroupResult(fmt, acc, baseline, source, bonus, outcome, neutralize, total))
    return results


@dataclass
class JudgeFailureMonitor:
    """Counts judged responses and failures; raises when the failure rate passes the threshold.

    A judge that fails often is a broken setup (wrong URL, overloaded server, a model that will not
    answer with a number). Neutralising a few groups is fine; neutralising a tenth of the data
    silently would train on noise, so past ``max_rate`` (after ``min_count`` judged) it stops.
    """

    max_rate: float
    min_count: int
    judged: int = 0
    failed: int = 0
    recent_errors: list[str] = field(default_factory=list)

    def record(self, sample: SampleScore) -> None:
        if sample.scorer != "judge":
            return
        self.judged += 1
        if sample.judge_failed:
            self.failed += 1
            self.recent_errors = [*self.recent_errors[-4:], str(sample.judge_error)]
        if self.judged >= self.min_count and self.failed > self.max_rate * self.judged:
            raise JudgeFailureError(
                f"judge failure rate {self.failed}/{self.judged} exceeds {self.max_rate:.0%}; "
                f"recent errors: {self.recent_errors}"
            )


_SAMPLE_FIELDS = tuple(f.name for f in fields(SampleScore))


def sample_record(sample: SampleScore) -> dict[str, object]:
    """A :class:`SampleScore` as plain data (what the per-sample reward hands to the group stage)."""
    record = {name: getattr(sample, name) for name in _SAMPLE_FIELDS}  # flat values: no deep copy needed
    record["role"] = Role(sample.role).value
    return record


def sample_from_record(record: dict[str, object]) -> SampleScore:
    """Inverse of :func:`sample_record`; extra keys (group results) are ignored."""
    sample = SampleScore(**{name: record[name] for name in _SAMPLE_FIELDS if name in record})
    sample.role = Role(sample.role)
    return sample


def result_record(sample: SampleScore, result: GroupResult) -> dict[str, object]:
    """The flat per-response record every output uses (verl ``reward_extra_info``, CLI lines, eval JSONL)."""
    return sample_record(sample) | {
        "format_score": result.format_score,
        "acc_score": result.acc_score,
        "baseline": result.baseline,
        "baseline_source": result.baseline_source.value,
        "refine_bonus": result.refine_bonus,
        "refine_outcome": result.refine_outcome.value if result.refine_outcome is not None else None,
        "neutralized": result.neutralized,
        "score": result.score,
    }
