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

"""Format reward, refinement bonus over a group, totals, judge-failure handling."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recipe.pasr.reward import (
    BaselineFallback,
    BaselineMode,
    BaselineSource,
    JudgeFailureError,
    JudgeFailureMonitor,
    JudgeFailurePolicy,
    RefineOutcome,
    RewardConfig,
    Role,
    SampleScore,
    format_score,
    group_baseline,
    refinement_bonus,
    result_record,
    sample_from_record,
    sample_record,
    score_group,
)


def policy(acc: float | None, refine: bool = False, fmt: bool = True, baseline_acc: float | None = None) -> SampleScore:
    return SampleScore(
        role=Role.POLICY,
        format_ok=fmt,
        is_refine=refine,
        num_refine=int(refine),
        acc=acc,
        scorer="rule",
        baseline_acc=baseline_acc,
    )


def standard(acc: float | None) -> SampleScore:
    return SampleScore(role=Role.STANDARD, acc=acc, scorer="rule")


def failed(sample: SampleScore) -> SampleScore:
    return replace(sample, acc=None, judge_failed=True, judge_error="HTTP 503", scorer="judge")


def refining(acc: float | None, fmt: bool = True, baseline_acc: float | None = None) -> SampleScore:
    return policy(acc, refine=True, fmt=fmt, baseline_acc=baseline_acc)


P, R, S = policy, refining, standard  # short names for the tables

# --- format and bonus -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "ok", "expected"),
    [
        (RewardConfig(), True, 1.0),
        (RewardConfig(), False, -1.0),
        (RewardConfig(format_valid=0.5, format_invalid=-2.0), True, 0.5),
        (RewardConfig(format_valid=0.5, format_invalid=-2.0), False, -2.0),
    ],
)
def test_format_score(config: RewardConfig, ok: bool, expected: float) -> None:
    assert format_score(ok, config) == expected


@pytest.mark.parametrize(
    ("acc", "baseline", "bonus", "outcome"),
    [
        (1.0, 0.5, 1.0, RefineOutcome.WIN),
        (0.0, 0.5, -1.0, RefineOutcome.LOSS),
        (0.5, 0.5, -0.5, RefineOutcome.TIE),
        (1.0, 1.0, -0.5, RefineOutcome.TIE),
        (0.0, 0.0, -0.5, RefineOutcome.TIE),
        (0.15, 0.1 + 0.2 - 0.15, -0.5, RefineOutcome.TIE),  # float noise is a tie
        (0.5 + 0.9e-6, 0.5, -0.5, RefineOutcome.TIE),  # within 1e-6
        (0.5 + 2e-6, 0.5, 1.0, RefineOutcome.WIN),
        (0.5 - 2e-6, 0.5, -1.0, RefineOutcome.LOSS),
    ],
)
def test_refinement_bonus(acc: float, baseline: float, bonus: float, outcome: RefineOutcome) -> None:
    assert refinement_bonus(acc, baseline, RewardConfig()) == (bonus, outcome)


def test_refinement_bonus_magnitudes_and_tolerance_are_configurable() -> None:
    config = RewardConfig(refine_win=2.0, refine_loss=-3.0, refine_tie=-0.25, tie_tolerance=0.1)
    assert refinement_bonus(0.55, 0.5, config) == (-0.25, RefineOutcome.TIE)
    assert refinement_bonus(0.7, 0.5, config) == (2.0, RefineOutcome.WIN)
    assert refinement_bonus(0.3, 0.5, config) == (-3.0, RefineOutcome.LOSS)


# --- score_group: baselines -----------------------------------------------------------------------

IN_GROUP, PAIRED, PRECOMPUTED = BaselineMode.IN_GROUP, BaselineMode.PAIRED, BaselineMode.PRECOMPUTED
FB_PRE, FB_NONE = BaselineFallback.PRECOMPUTED, BaselineFallback.NONE
SRC = BaselineSource

BASELINE_CASES = [
    # (id, mode, fallback, group, baseline, source, bonuses)
    ("in_group", IN_GROUP, FB_PRE, [R(1.0), P(0.0), P(1.0)], 0.5, SRC.IN_GROUP, [1.0, 0.0, 0.0]),
    ("in_group-loss", IN_GROUP, FB_PRE, [R(0.0), P(0.0), P(1.0)], 0.5, SRC.IN_GROUP, [-1.0, 0.0, 0.0]),
    ("in_group-tie", IN_GROUP, FB_PRE, [R(1.0), P(1.0), P(1.0)], 1.0, SRC.IN_GROUP, [-0.5, 0.0, 0.0]),
    ("in_group-graded-tie", IN_GROUP, FB_PRE, [R(0.15), P(0.1), P(0.2)], 0.15, SRC.IN_GROUP, [-0.5, 0, 0]),
    # non-refining responses count whatever their format; refining ones never do
    ("in_group-invalid-format", IN_GROUP, FB_PRE, [R(1.0), P(0.0, fmt=False), R(0.0)], 0.0, SRC.IN_GROUP, [1, 0, -0.5]),
    # standard responses are no part of the in_group baseline
    (
        "in_group-ignores-standard",
        IN_GROUP,
        FB_PRE,
        [R(0.0), P(0.0), S(1.0), S(1.0)],
        0.0,
        SRC.IN_GROUP,
        [-0.5, 0, 0, 0],
    ),
    ("in_group-all-refine", IN_GROUP, FB_PRE, [R(1.0), R(0.0)], None, SRC.NONE, [0.0, 0.0]),
    (
        "in_group-all-refine-fallback",
        IN_GROUP,
        FB_PRE,
        [R(1.0, baseline_acc=0.25), R(0.0, baseline_acc=0.25)],
        0.25,
        SRC.PRECOMPUTED,
        [1.0, -1.0],
    ),
    ("in_group-fallback-none", IN_GROUP, FB_NONE, [R(1.0, baseline_acc=0.25), R(0.0)], None, SRC.NONE, [0.0, 0.0]),
    # paired: standard responses are the baseline; non-refining policy responses are not
    ("paired", PAIRED, FB_PRE, [R(1.0), P(1.0), S(1.0), S(0.0), S(0.0), S(0.0)], 0.25, SRC.PAIRED, [1, 0, 0, 0, 0, 0]),
    ("paired-tie", PAIRED, FB_PRE, [R(0.0), P(1.0), S(0.0)], 0.0, SRC.PAIRED, [-0.5, 0.0, 0.0]),
    ("paired-missing", PAIRED, FB_PRE, [R(1.0), P(0.0)], None, SRC.NONE, [0.0, 0.0]),
    ("paired-fallback", PAIRED, FB_PRE, [R(1.0, baseline_acc=1.0), P(0.0)], 1.0, SRC.PRECOMPUTED, [-0.5, 0.0]),
    (
        "precomputed",
        PRECOMPUTED,
        FB_NONE,
        [R(1.0, baseline_acc=0.7), P(0.0, baseline_acc=0.7)],
        0.7,
        SRC.PRECOMPUTED,
        [1, 0],
    ),
    ("precomputed-ignores-group", PRECOMPUTED, FB_NONE, [R(0.0), P(0.0), S(0.0)], None, SRC.NONE, [0.0, 0.0, 0.0]),
    ("precomputed-zero", PRECOMPUTED, FB_PRE, [R(0.0, baseline_acc=0.0)], 0.0, SRC.PRECOMPUTED, [-0.5]),
]


@pytest.mark.parametrize(
    ("mode", "fallback", "group", "baseline", "source", "bonuses"),
    [case[1:] for case in BASELINE_CASES],
    ids=[case[0] for case in BASELINE_CASES],
)
def test_baselines(
    mode: BaselineMode,
    fallback: BaselineFallback,
    group: list[SampleScore],
    baseline: float | None,
    source: BaselineSource,
    bonuses: list[float],
) -> None:
    config = RewardConfig(baseline=mode, baseline_fallback=fallback)
    results = score_group(group, config)
    assert len(results) == len(group)
    for sample, result, bonus in zip(group, results, bonuses, strict=True):
        assert result.baseline_source is source
        assert result.baseline == (None if baseline is None else pytest.approx(baseline))
        assert result.refine_bonus == bonus
        assert (result.refine_outcome is None) == (
            not sample.is_refine or baseline is None or sample.role == "standard"
        )
        if sample.role is Role.STANDARD:  # scored, but no format reward and no bonus
            assert (result.format_score, result.refine_bonus, result.score) == (0.0, 0.0, sample.acc)
        else:
            assert result.score == pytest.approx(result.format_score + sample.acc + bonus)
        record = result_record(sample, result)
        assert record["baseline_source"] == str(source)
        assert record["baseline"] == result.baseline


def test_min_baseline_samples() -> None:
    group = [R(1.0, baseline_acc=0.9), P(0.0)]
    assert group_baseline(group, RewardConfig(min_baseline_samples=1)) == (0.0, SRC.IN_GROUP)
    assert group_baseline(group, RewardConfig(min_baseline_samples=2)) == (0.9, SRC.PRECOMPUTED)
    with pytest.raises(ValueError, match="min_baseline_samples"):
        RewardConfig(min_baseline_samples=0)


def test_totals_use_weights_and_magnitudes() -> None:
    config = RewardConfig(
        format_valid=2.0,
        format_invalid=-3.0,
        refine_win=4.0,
        refine_loss=-5.0,
        refine_tie=-6.0,
        format_weight=0.5,
        acc_weight=2.0,
        bonus_weight=0.25,
    )
    group = [R(1.0), R(0.0, fmt=False), R(0.5), P(0.5), P(0.5, fmt=False)]
    scores = [result.score for result in score_group(group, config)]
    assert scores == pytest.approx(
        [
            0.5 * 2.0 + 2.0 * 1.0 + 0.25 * 4.0,  # win
            0.5 * -3.0 + 0.0 + 0.25 * -5.0,  # loss, invalid format
            0.5 * 2.0 + 2.0 * 0.5 + 0.25 * -6.0,  # tie
            0.5 * 2.0 + 2.0 * 0.5,
            0.5 * -3.0 + 2.0 * 0.5,
        ]
    )


# --- score_group: judge failures ------------------------------------------------------------------


def test_failure_policy_raise() -> None:
    config = RewardConfig(judge_failure_policy="raise")
    with pytest.raises(JudgeFailureError, match="HTTP 503"):
        score_group([R(1.0), failed(P(0.0))], config)
    assert len(score_group([R(1.0), P(0.0)], config)) == 2  # no failure, no error


@pytest.mark.parametrize("neutral", [0.0, -0.25])
def test_failure_policy_neutralize_group(neutral: float) -> None:
    config = RewardConfig(neutralized_score=neutral)  # neutralize_group is the default
    group = [R(1.0), failed(P(0.0)), P(0.0, fmt=False), R(0.0)]
    results = score_group(group, config)
    assert [r.score for r in results] == [neutral] * 4  # no GRPO signal in this group
    assert all(r.neutralized and r.refine_bonus == 0.0 and r.refine_outcome is None for r in results)
    records = [result_record(s, r) for s, r in zip(group, results, strict=True)]
    assert [r["acc"] for r in records] == [1.0, None, 0.0, 0.0]  # acc and judge_failed stay per response
    assert [r["judge_failed"] for r in records] == [False, True, False, False]
    assert [r["format_score"] for r in records] == [1.0, 1.0, -1.0, 1.0]


def test_a_group_without_failures_is_not_neutralized() -> None:
    results = score_group([R(1.0), P(0.0)], RewardConfig())
    assert not any(r.neutralized for r in results)
    assert results[0].score == 3.0


def test_neutralize_group_covers_standard_responses() -> None:
    config = RewardConfig(baseline="paired")
    results = score_group([R(1.0), failed(P(0.0)), S(1.0), S(0.0)], config)
    assert [r.score for r in results] == [0.0] * 4


def test_a_failed_standard_response_only_leaves_the_baseline() -> None:
    results = score_group([R(1.0), P(1.0), failed(S(1.0)), S(0.0)], RewardConfig(baseline="paired"))
    assert not any(r.neutralized for r in results)
    assert results[0].baseline == 0.0 and results[0].refine_outcome is RefineOutcome.WIN


def test_failure_policy_zero() -> None:
    config = RewardConfig(judge_failure_policy="zero")
    # The failed response counts as acc 0 but is no part of the baseline (baseline = mean(1, 0) = 0.5).
    group = [failed(R(1.0)), P(1.0), P(0.0), failed(P(1.0))]
    results = score_group(group, config)
    assert [r.baseline for r in results] == [0.5] * 4
    assert [r.acc_score for r in results] == [0.0, 1.0, 0.0, 0.0]
    assert results[0].refine_outcome is RefineOutcome.LOSS
    assert [r.score for r in results] == [1.0 + 0.0 - 1.0, 2.0, 1.0, 1.0]
    assert not any(r.neutralized for r in results)


def test_paired_baseline_excludes_failed_standard_responses() -> None:
    config = RewardConfig(baseline="paired", judge_failure_policy="zero")
    results = score_group([R(1.0), failed(S(1.0)), S(1.0)], config)
    assert results[0].baseline == 1.0 and results[0].refine_outcome is RefineOutcome.TIE


def test_nan_precomputed_baseline_counts_as_missing() -> None:
    results = score_group([R(1.0, baseline_acc=math.nan)], RewardConfig(baseline="precomputed"))
    assert results[0].baseline_source is SRC.NONE and results[0].refine_bonus == 0.0


# --- config ---------------------------------------------------------------------------------------


def test_config_coerces_strings() -> None:
    config = RewardConfig(baseline="paired", baseline_fallback="none", judge_failure_policy="zero")
    assert config.baseline is BaselineMode.PAIRED
    assert config.baseline_fallback is BaselineFallback.NONE
    assert config.judge_failure_policy is JudgeFailurePolicy.ZERO


@pytest.mark.parametrize(
    "kwargs",
    [
        {"baseline": "mean"},
        {"baseline_fallback": "in_group"},
        {"judge_failure_policy": "ignore"},
        {"judge_failure_max_rate": 1.5},
        {"judge_failure_max_rate": -0.1},
        {"tie_tolerance": -1e-9},
    ],
)
def test_config_rejects_bad_values(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        RewardConfig(**kwargs)


def test_defaults_are_the_papers() -> None:
    config = RewardConfig()
    assert (config.format_valid, config.format_invalid) == (1.0, -1.0)
    assert (config.refine_win, config.refine_loss, config.refine_tie) == (1.0, -1.0, -0.5)
    assert config.tie_tolerance == 1e-6
    assert config.baseline is BaselineMode.IN_GROUP
    assert config.judge_failure_policy is JudgeFailurePolicy.NEUTRALIZE_GROUP
    assert (config.judge_failure_max_rate, config.judge_failure_min_count) == (0.1, 50)
    assert config.missing_answer_acc == 0.0 and config.neutralized_score == 0.0


# --- JudgeFailureMonitor --------------------------------------------------------------------------


def _judged(ok: bool) -> SampleScore:
    sample = SampleScore(scorer="judge", acc=1.0)
    return sample if ok else failed(sample)


@pytest.mark.parametrize(
    ("max_rate", "min_count", "outcomes", "raises_at"),
    [
        (0.1, 50, [False] * 49, None),  # all failed, but fewer than min_count judged
        (0.1, 50, [False] * 50, 49),
        (0.1, 50, [True] * 45 + [False] * 5, None),  # exactly 10%: not above
        (0.1, 50, [True] * 45 + [False] * 6, 50),  # 6/51
        (0.1, 50, [False] * 5 + [True] * 95, None),  # early failures, but 5/50 is not above 10%
        (0.1, 50, [False] * 6 + [True] * 144, 49),  # 6/50: raises as soon as 50 are judged
        (0.0, 1, [True, True, False], 2),
        (1.0, 1, [False] * 20, None),
    ],
)
def test_failure_monitor(max_rate: float, min_count: int, outcomes: list[bool], raises_at: int | None) -> None:
    monitor = JudgeFailureMonitor(max_rate, min_count)
    for index, ok in enumerate(outcomes):
        if index == raises_at:
            with pytest.raises(JudgeFailureError, match="failure rate"):
                monitor.record(_judged(ok))
            return
        monitor.record(_judged(ok))
    assert raises_at is None
    assert monitor.judged == len(outcomes) and monitor.failed == outcomes.count(False)


def test_failure_monitor_ignores_rule_scored_responses_and_keeps_recent_errors() -> None:
    monitor = JudgeFailureMonitor(max_rate=0.5, min_count=100)
    for _ in range(10):
        monitor.record(SampleScore(scorer="rule", acc=0.0))
        monitor.record(SampleScore(scorer="none", acc=0.0))
    assert monitor.judged == 0
    for index in range(7):
        monitor.record(replace(_judged(False), judge_error=f"error {index}"))
    assert monitor.recent_errors == [f"error {index}" for index in range(2, 7)]


# --- properties -----------------------------------------------------------------------------------

ACCS = st.sampled_from([0.0, 0.5, 1.0]) | st.floats(0.0, 1.0)


@st.composite
def samples(draw: st.DrawFn) -> SampleScore:
    role = draw(st.sampled_from([Role.POLICY, Role.POLICY, Role.STANDARD]))
    is_failed = draw(st.integers(0, 9)) == 0
    acc = None if is_failed else draw(ACCS)
    return SampleScore(
        role=role,
        format_ok=draw(st.booleans()) if role is Role.POLICY else None,
        is_refine=role is Role.POLICY and draw(st.booleans()),
        acc=acc,
        judge_failed=is_failed,
        judge_error="boom" if is_failed else None,
        scorer="judge",
        baseline_acc=draw(st.none() | ACCS),
    )


CONFIGS = st.builds(
    RewardConfig,
    baseline=st.sampled_from(list(BaselineMode)),
    baseline_fallback=st.sampled_from(list(BaselineFallback)),
    judge_failure_policy=st.sampled_from([JudgeFailurePolicy.NEUTRALIZE_GROUP, JudgeFailurePolicy.ZERO]),
    format_weight=st.sampled_from([1.0, 0.5]),
    acc_weight=st.sampled_from([1.0, 2.0]),
    bonus_weight=st.sampled_from([1.0, 0.0, 3.0]),
)


def expected_baseline(group: list[SampleScore], config: RewardConfig) -> tuple[float | None, BaselineSource]:
    """The spec's baseline, computed independently of the implementation."""
    if config.baseline is BaselineMode.IN_GROUP:
        pool = [s.acc for s in group if s.role is Role.POLICY and not s.is_refine and not s.judge_failed]
    elif config.baseline is BaselineMode.PAIRED:
        pool = [s.acc for s in group if s.role is Role.STANDARD and not s.judge_failed]
    else:
        pool = []
    if pool:
        return math.fsum(pool) / len(pool), BaselineSource(str(config.baseline))
    use_precomputed = config.baseline is BaselineMode.PRECOMPUTED or config.baseline_fallback is FB_PRE
    carried = [s.baseline_acc for s in group if s.baseline_acc is not None]
    if use_precomputed and carried:
        return carried[0], BaselineSource.PRECOMPUTED
    return None, BaselineSource.NONE


@settings(max_examples=150, deadline=None)
@given(group=st.lists(samples(), min_size=1, max_size=8), config=CONFIGS)
def test_group_invariants(group: list[SampleScore], config: RewardConfig) -> None:
    results = score_group(group, config)
    assert len(results) == len(group)
    baseline, source = expected_baseline(group, config)
    policy_failed = any(s.judge_failed and s.role is Role.POLICY for s in group)
    neutralized = policy_failed and config.judge_failure_policy is not JudgeFailurePolicy.ZERO
    allowed = {0.0, config.refine_win, config.refine_loss, config.refine_tie}
    for sample, result in zip(group, results, strict=True):
        assert result.baseline_source is source
        assert result.baseline == (None if baseline is None else pytest.approx(baseline, abs=1e-12))
        assert result.neutralized is neutralized
        assert result.refine_bonus in allowed
        acc = 0.0 if sample.acc is None else sample.acc
        assert result.acc_score == acc
        if sample.role is Role.STANDARD or not sample.is_refine or baseline is None or neutralized:
            assert (result.refine_bonus, result.refine_outcome) == (0.0, None)
        elif abs(acc - baseline) <= 1e-6:
            assert result.refine_outcome is RefineOutcome.TIE
        else:
            assert result.refine_outcome is (RefineOutcome.WIN if acc > baseline else RefineOutcome.LOSS)
        if sample.role is Role.STANDARD:
            assert result.format_score == 0.0
            continue
        if neutralized:
            assert result.score == config.neutralized_score
        else:
            total = config.format_weight * result.format_score + config.acc_weight * acc
            assert result.score == pytest.approx(total + config.bonus_weight * result.refine_bonus)


# --- plain-data records and the string values configs and records carry ---------------------------


def test_sample_record_round_trip_restores_the_role() -> None:
    # verl hands the per-sample half to the group stage as plain data; a role left as the string
    # "standard" would fail every `is Role.STANDARD` check and the in-group bonus would silently vanish.
    sample = SampleScore(role=Role.STANDARD, acc=1.0, scorer="rule", extracted="7", baseline_acc=0.5)
    record = sample_record(sample)
    assert record["role"] == "standard" and type(record["role"]) is str
    restored = sample_from_record({**record, "score": 3.0})  # group-result keys are ignored
    assert restored == sample and restored.role is Role.STANDARD
    group = [sample_from_record(sample_record(s)) for s in (R(1.0), P(0.0), S(1.0))]
    assert [r.refine_bonus for r in score_group(group, RewardConfig())] == [1.0, 0.0, 0.0]
    assert [r.score for r in score_group(group, RewardConfig())][2] == 1.0  # standard: acc only


def test_result_record_keys_and_values_that_metrics_and_reports_read() -> None:
    group = [R(1.0), R(1.0), P(1.0)]
    records = [result_record(s, r) for s, r in zip(group, score_group(group, RewardConfig()), strict=True)]
    assert set(records[0]) == set(sample_record(group[0])) | {
        "format_score", "acc_score", "baseline", "baseline_source", "refine_bonus", "refine_outcome", "neutralized",
        "score",
    }  # fmt: skip
    assert records[0]["refine_outcome"] == "tie" and type(records[0]["refine_outcome"]) is str
    assert records[0]["refine_bonus"] == -0.5 and records[0]["score"] == 1.5 and records[0]["neutralized"] is False
    assert records[0]["baseline_source"] == "in_group" and type(records[0]["baseline_source"]) is str
    assert records[2]["refine_outcome"] is None and records[2]["role"] == "policy"


def test_enum_values_are_the_strings_configs_and_records_use() -> None:
    assert [m.value for m in Role] == ["policy", "standard"]
    assert [m.value for m in BaselineMode] == ["in_group", "paired", "precomputed"]
    assert [m.value for m in BaselineSource] == ["in_group", "paired", "precomputed", "none"]
    assert [m.value for m in BaselineFallback] == ["precomputed", "none"]
    assert [m.value for m in JudgeFailurePolicy] == ["raise", "neutralize_group", "zero"]
    assert [m.value for m in RefineOutcome] == ["win", "loss", "tie"]


def test_zero_tie_tolerance_ties_only_on_equality() -> None:
    config = RewardConfig(tie_tolerance=0.0)
    assert refinement_bonus(0.5, 0.5, config) == (-0.5, RefineOutcome.TIE)
    assert refinement_bonus(0.5 + 1e-12, 0.5, config) == (1.0, RefineOutcome.WIN)
    assert refinement_bonus(0.5 - 1e-12, 0.5, config) == (-1.0, RefineOutcome.LOSS)


def test_config_boundaries_are_accepted() -> None:
    for kwargs in ({"judge_failure_max_rate": 0.0}, {"judge_failure_max_rate": 1.0}, {"min_baseline_samples": 1}):
        RewardConfig(**kwargs)
    with pytest.raises(ValueError, match="min_baseline_samples must be >= 1, got 0"):
        RewardConfig(min_baseline_samples=0)


def test_a_standard_response_gets_its_acc_and_nothing_else() -> None:
    (result,) = score_group([S(0.75)], RewardConfig(format_weight=2.0, acc_weight=3.0))
    assert (result.format_score, result.acc_score, result.refine_bonus, result.score) == (0.0, 0.75, 0.0, 0.75)
    assert result.refine_outcome is None and not result.neutralized


def test_sample_score_defaults() -> None:
    # Callers that build a SampleScore directly (verl glue, simulator) rely on these: a fresh sample is a
    # rule-scored policy response with nothing judged, shared or failed.
    sample = SampleScore()
    assert (sample.role, sample.scorer, sample.acc, sample.format_ok) == (Role.POLICY, "rule", None, None)
    # no judge request: nothing for the pasr/judge/* metrics to count
    assert (sample.judge_attempts, sample.judge_failure_kind, sample.judge_started_at) == (0, None, None)
    assert (sample.judge_failed, sample.judge_deduplicated, sample.is_refine, sample.num_refine) == (
        False,
        False,
        False,
        0,
    )
