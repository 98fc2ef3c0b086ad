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

"""Refinement metrics over a batch of scored responses.

One definition serves the training logger (``pasr/*`` per step), the offline CLI summary and the
evaluation tables. Input records are plain dicts with the keys the reward writes
(``reward_extra_info`` in verl, output lines of ``recipe.pasr.tools.score``): ``role``, ``is_refine``,
``format_ok``, ``acc``, ``judge_failed``, ``refine_bonus``, ``refine_outcome``, ``baseline_source``,
``neutralized``, ``rule_unresolved``, ``scorer``, and the judge request telemetry (``judge_attempts``,
``judge_failure_kind``, ``judge_started_at``, ``judge_latency_s``). Standard-prompt (baseline) responses
count only towards ``judge_failures``, the ``judge/*`` request metrics and the rule counts
(``rule_unresolved``: the rule found no single answer; ``rule_fallbacks``: of those, the ones the judge
scored instead).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from recipe.pasr.scoring.judge import FAILURE_KINDS

PREFIX = "pasr/"


@dataclass
class RefineStats:
    """Running counts; ``add`` one record at a time so callers can stream."""

    responses: int = 0
    refining: int = 0
    wins: int = 0
    losses: int = 0
    ties: int = 0
    refining_without_baseline: int = 0
    format_ok: int = 0
    acc_sum: float = 0.0
    acc_count: int = 0
    bonus_sum: float = 0.0
    judge_failures: int = 0
    judge_deduplicated: int = 0
    neutralized: int = 0
    standard_responses: int = 0
    judge_requests: int = 0
    judge_retries: int = 0
    judge_failures_by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAILURE_KINDS, 0))
    judge_spans: list[tuple[float, float]] = field(default_factory=list)  # (start, latency) per request sent
    rule_unresolved: int = 0
    rule_fallbacks: int = 0

    def add(self, record: Mapping[str, Any]) -> None:
        if record.get("judge_failed"):
            self.judge_failures += 1
        if record.get("rule_unresolved"):
            self.rule_unresolved += 1
            self.rule_fallbacks += record.get("scorer") == "judge"
        self.judge_deduplicated += bool(record.get("judge_deduplicated"))
        self._add_judge_request(record)
        if record.get("role", "policy") == "standard":
            self.standard_responses += 1
            return
        self.responses += 1
        self.format_ok += bool(record.get("format_ok"))
        self.neutralized += bool(record.get("neutralized"))
        self.bonus_sum += float(record.get("refine_bonus") or 0.0)
        acc = record.get("acc")
        if acc is not None and not record.get("judge_failed"):
            self.acc_sum += float(acc)
            self.acc_count += 1
        if not record.get("is_refine"):
            return
        self.refining += 1
        outcome = record.get("refine_outcome")
        self.wins += outcome == "win"
        self.losses += outcome == "loss"
        self.ties += outcome == "tie"
        self.refining_without_baseline += record.get("baseline_source") == "none"

    def _add_judge_request(self, record: Mapping[str, Any]) -> None:
        """A record whose verdict came from its own request (not shared from an identical one)."""
        attempts = int(record.get("judge_attempts") or 0)
        if not attempts or record.get("judge_deduplicated"):
            return
        self.judge_requests += 1
        self.judge_retries += attempts - 1
        kind = record.get("judge_failure_kind")
        if kind is not None:
            self.judge_failures_by_kind[kind if kind in self.judge_failures_by_kind else "other"] += 1
        started, latency = record.get("judge_started_at"), record.get("judge_latency_s")
        if started is not None and latency is not None:
            self.judge_spans.append((float(started), float(latency)))

    def judge_metrics(self) -> dict[str, float]:
        """Request counts, failures by kind, latency percentiles, and the most requests in flight at once.

        ``max_in_flight`` is computed from the requests' start times and latencies, so it covers every
        client that produced the records (all reward-loop workers of a step); a request's backoff between
        retries counts as in flight.
        """
        latencies = sorted(latency for _, latency in self.judge_spans)
        events = sorted([(start, 1) for start, _ in self.judge_spans] + [(s + d, -1) for s, d in self.judge_spans])
        in_flight = peak = 0
        for _, change in events:  # at equal times an end (-1) sorts before a start (+1)
            in_flight += change
            peak = max(peak, in_flight)
        values = {
            "judge/requests": float(self.judge_requests),
            "judge/retries": float(self.judge_retries),
            "judge/latency_p50_s": _percentile(latencies, 0.5),
            "judge/latency_p95_s": _percentile(latencies, 0.95),
            "judge/max_in_flight": float(peak),
        }
        values.update({f"judge/failures/{kind}": float(n) for kind, n in self.judge_failures_by_kind.items()})
        return values

    def as_metrics(self, prefix: str = PREFIX) -> dict[str, float]:
        """Rates over policy responses; win/loss/tie/missing-baseline rates over refining ones.

        Empty denominators give 0.0 so every key is present at every step.
        """

        def rate(count: float, total: int) -> float:
            return count / total if total else 0.0

        values = {
            "refine_rate": rate(self.refining, self.responses),
            "refine_win_rate": rate(self.wins, self.refining),
            "refine_loss_rate": rate(self.losses, self.refining),
            "refine_tie_rate": rate(self.ties, self.refining),
            "baseline_missing_rate": rate(self.refining_without_baseline, self.refining),
            "format_ok_rate": rate(self.format_ok, self.responses),
            "acc_mean": rate(self.acc_sum, self.acc_count),
            "bonus_mean": rate(self.bonus_sum, self.responses),
            "neutralized_rate": rate(self.neutralized, self.responses),
            "judge_failures": float(self.judge_failures),
            "judge/deduplicated": float(self.judge_deduplicated),
            "rule_unresolved": float(self.rule_unresolved),
            "rule_fallbacks": float(self.rule_fallbacks),
            **self.judge_metrics(),
        }
        return {prefix + key: value for key, value in values.items()}


def _percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; 0.0 for no values, so every key is present at every step."""
    if not sorted_values:
        return 0.0
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def summarize(records: Iterable[Mapping[str, Any]], prefix: str = PREFIX) -> dict[str, float]:
    stats = RefineStats()
    for record in records:
        stats.add(record)
    return stats.as_metrics(prefix)
