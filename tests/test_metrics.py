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

"""Refinement metrics over a handcrafted batch with known rates."""

from __future__ import annotations

import pytest

from recipe.pasr.metrics import PREFIX, RefineStats, summarize
from recipe.pasr.reward import RewardConfig, Role, SampleScore, result_record, score_group
from recipe.pasr.scoring.judge import FAILURE_KINDS

KEYS = {
    "refine_rate",
    "refine_win_rate",
    "refine_loss_rate",
    "refine_tie_rate",
    "baseline_missing_rate",
    "format_ok_rate",
    "acc_mean",
    "bonus_mean",
    "neutralized_rate",
    "judge_failures",
    "judge/deduplicated",
    "judge/requests",
    "judge/retries",
    "judge/latency_p50_s",
    "judge/latency_p95_s",
    "judge/max_in_flight",
    *(f"judge/failures/{kind}" for kind in FAILURE_KINDS),
    "rule_unresolved",
    "rule_fallbacks",
}


def rec(**fields) -> dict:
    base = {
        "role": "policy",
        "is_refine": False,
        "format_ok": True,
        "acc": 0.0,
        "judge_failed": False,
        "refine_bonus": 0.0,
        "refine_outcome": None,
        "baseline_source": "in_group",
        "neutralized": False,
    }
    return base | fields


# 10 policy responses + 2 standard ones:
#   refining: 2 wins, 1 loss, 1 tie, 1 without baseline (5 of 10)
#   format ok: 7 of 10; acc: 1,1,0,1,1 | 1,0,0.5,(failed),0 -> 5.5 over 9 scored
#   bonus: +1 +1 -1 -0.5 +0 -> 0.5 over 10; neutralized: 2 of 10
#   judge failures: 1 policy + 1 standard; judge verdicts shared: 1 policy + 1 standard
#   rule found no single answer: 2 policy + 1 standard, of which 1 policy + 1 standard judged instead
BATCH = [
    rec(is_refine=True, acc=1.0, refine_bonus=1.0, refine_outcome="win"),
    rec(is_refine=True, acc=1.0, refine_bonus=1.0, refine_outcome="win", format_ok=False),
    rec(is_refine=True, acc=0.0, refine_bonus=-1.0, refine_outcome="loss"),
    rec(is_refine=True, acc=1.0, refine_bonus=-0.5, refine_outcome="tie"),
    rec(is_refine=True, acc=1.0, baseline_source="none"),
    rec(acc=1.0, judge_deduplicated=True),
    rec(acc=0.0, format_ok=False, rule_unresolved=True, scorer="rule"),
    rec(acc=0.5, format_ok=False, rule_unresolved=True, scorer="judge"),
    rec(acc=None, judge_failed=True, neutralized=True),
    rec(acc=0.0, neutralized=True),
    rec(role="standard", acc=1.0, format_ok=None, judge_deduplicated=True, rule_unresolved=True, scorer="judge"),
    rec(role=Role.STANDARD, acc=None, format_ok=None, judge_failed=True),
]
EXPECTED = {
    "refine_rate": 5 / 10,
    "refine_win_rate": 2 / 5,
    "refine_loss_rate": 1 / 5,
    "refine_tie_rate": 1 / 5,
    "baseline_missing_rate": 1 / 5,
    "format_ok_rate": 7 / 10,
    "acc_mean": 5.5 / 9,
    "bonus_mean": 0.5 / 10,
    "neutralized_rate": 2 / 10,
    "judge_failures": 2.0,
    "judge/deduplicated": 2.0,
    "rule_unresolved": 3.0,
    "rule_fallbacks": 2.0,
} | {key: 0.0 for key in KEYS if key.startswith("judge/") and key != "judge/deduplicated"}


def test_summarize_known_rates() -> None:
    metrics = summarize(BATCH)
    assert set(metrics) == {PREFIX + key for key in KEYS}
    assert {key.removeprefix(PREFIX): value for key, value in metrics.items()} == pytest.approx(EXPECTED)


def test_standard_responses_only_count_as_judge_failures() -> None:
    standard = [rec(role="standard", acc=1.0, is_refine=True, refine_outcome="win", judge_failed=True)] * 3
    metrics = summarize(BATCH + standard)
    assert metrics[PREFIX + "judge_failures"] == 5.0
    assert metrics[PREFIX + "refine_rate"] == pytest.approx(0.5)
    assert metrics[PREFIX + "acc_mean"] == pytest.approx(5.5 / 9)


def test_empty_batch_has_every_key_at_zero() -> None:
    assert summarize([]) == {PREFIX + key: 0.0 for key in KEYS}
    assert summarize([rec(role="standard")]) == {PREFIX + key: 0.0 for key in KEYS}


def test_prefix_and_streaming() -> None:
    stats = RefineStats()
    for record in BATCH:
        stats.add(record)
    assert stats.as_metrics("eval/") == {key.replace(PREFIX, "eval/"): v for key, v in summarize(BATCH).items()}
    assert (stats.responses, stats.standard_responses, stats.refining) == (10, 2, 5)


def test_missing_keys_default_sensibly() -> None:
    metrics = summarize([{"is_refine": True, "acc": 1.0}, {"acc": 0.0}])
    assert metrics[PREFIX + "refine_rate"] == 0.5
    assert metrics[PREFIX + "format_ok_rate"] == 0.0
    assert metrics[PREFIX + "acc_mean"] == 0.5
    assert metrics[PREFIX + "refine_win_rate"] == 0.0


def test_metrics_of_scored_groups() -> None:
    """End to end from score_group's records: one group with a win, a tie and a non-refining response."""

    def sample(acc: float, refine: bool) -> SampleScore:
        return SampleScore(role=Role.POLICY, format_ok=True, is_refine=refine, num_refine=int(refine), acc=acc)

    group = [sample(1.0, True), sample(0.0, True), sample(0.0, False), sample(1.0, False)]  # baseline 0.5
    group += [sample(1.0, True)]  # a group where every response refined: no baseline
    results = score_group(group[:4], RewardConfig()) + score_group(group[4:], RewardConfig())
    metrics = summarize(result_record(s, r) for s, r in zip(group, results, strict=True))
    assert metrics[PREFIX + "refine_rate"] == pytest.approx(3 / 5)
    assert metrics[PREFIX + "refine_win_rate"] == pytest.approx(1 / 3)
    assert metrics[PREFIX + "refine_loss_rate"] == pytest.approx(1 / 3)
    assert metrics[PREFIX + "baseline_missing_rate"] == pytest.approx(1 / 3)
    assert metrics[PREFIX + "bonus_mean"] == pytest.approx((1.0 - 1.0) / 5)


def judged(started: float, latency: float, attempts: int = 1, kind: str | None = None, **fields) -> dict:
    failed = kind is not None
    return rec(
        scorer="judge",
        judge_attempts=attempts,
        judge_started_at=started,
        judge_latency_s=latency,
        judge_failure_kind=kind,
        judge_failed=failed,
        acc=None if failed else 1.0,
        **fields,
    )


def test_judge_request_metrics() -> None:
    """Requests sent (not shared verdicts), retries, failures by kind, latency percentiles, peak in flight."""
    records = [
        judged(100.0, 1.0),  # [100, 101]
        judged(100.5, 2.0, attempts=3, kind="timeout"),  # [100.5, 102.5]
        judged(100.8, 0.1, kind="out_of_range"),  # [100.8, 100.9]: 3 in flight at 100.8
        judged(101.0, 0.5, role="standard", kind="http_status"),  # a baseline's request: [101, 101.5]
        judged(101.5, 0.4),  # starts as the baseline's ends: not overlapping it
        judged(100.0, 1.0, judge_deduplicated=True),  # shared verdict: no request of its own
        rec(scorer="rule"),
    ]
    metrics = {key.removeprefix(PREFIX): value for key, value in summarize(records).items()}
    assert metrics["judge/requests"] == 5.0 and metrics["judge/retries"] == 2.0
    assert (metrics["judge/failures/timeout"], metrics["judge/failures/out_of_range"]) == (1.0, 1.0)
    assert metrics["judge/failures/http_status"] == 1.0 and metrics["judge/failures/unparsable"] == 0.0
    assert metrics["judge_failures"] == 3.0
    assert metrics["judge/latency_p50_s"] == 0.5  # latencies 0.1 0.4 0.5 1 2: nearest rank
    assert metrics["judge/latency_p95_s"] == 2.0
    assert metrics["judge/max_in_flight"] == 3.0


def test_metric_names_are_the_logged_ones() -> None:
    # Dashboards, the README and verl's logger read these exact names.
    assert PREFIX == "pasr/"
    assert "pasr/refine_rate" in summarize([]) and "pasr/judge/deduplicated" in summarize([])


def test_accuracy_mean_skips_failed_verdicts_and_records_without_acc() -> None:
    # A failed verdict never enters the mean, even when a consumer stored a placeholder acc for it;
    # a record that carries no acc at all (e.g. a dump line) is not an accuracy either.
    batch = [rec(acc=0.0, judge_failed=True), rec(acc=1.0), {"role": "policy", "is_refine": False}]
    metrics = summarize(batch)
    assert metrics[PREFIX + "acc_mean"] == 1.0 and metrics[PREFIX + "judge_failures"] == 1.0
