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

"""Evaluation summaries: per-task metrics, the markdown tables, and the comparison of two runs.

Metrics per task, over the records of a run (one record per question and sample):

* ``acc``: mean accuracy over the records that were scored; a record whose judge call failed has no
  accuracy and is counted under ``judge_failures`` instead (never as 0);
* ``tokens``: mean generated tokens per record (both turns for self-refine);
* ``refine_rate`` and ``format_ok_rate`` (PASR mode only), from :class:`recipe.pasr.metrics.RefineStats`,
  the definition the training logger uses;
* ``truncated_rate``: records cut at the token limit;
* ``rule_unresolved``: responses whose rule scorer found no single answer, and of those
  ``rule_fallbacks``: the ones the judge scored instead (scorer ``fallback``); the others scored 0.

A task is *complete* when every record of it was scored (no judge failure, also not on a self-refine
run's first answer). Averages are macro averages over the complete tasks only, as the paper reports
them over its full task list: averaging the survivors of a dead judge would report a different
benchmark under the same name. Incomplete tasks are listed next to the average.

The comparison (:func:`compare`) works on the questions both runs scored; see its docstring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from recipe.pasr.metrics import RefineStats
from recipe.pasr.tools.reporting import mean_or_none, save_figure

Record = Mapping[str, Any]

AVERAGE = "average"
_AVERAGED = ("acc", "tokens", "refine_rate", "format_ok_rate", "truncated_rate", "initial_acc")


def task_metrics(records: Sequence[Record]) -> dict[str, Any]:
    """Metrics of one task's records (see module docstring)."""
    scored = [float(r["acc"]) for r in records if r.get("acc") is not None]
    policy = [r for r in records if r.get("role") == "policy"]
    stats = RefineStats()
    for record in records:  # standard-role records only count towards failures and rule counts
        stats.add(record)
    rates = stats.as_metrics(prefix="")
    initials = [r["initial"] for r in records if r.get("initial")]
    initial = [float(i["acc"]) for i in initials if i.get("acc") is not None]
    return {
        "n": len(records),
        "scored": len(scored),
        "complete": len(scored) == len(records) and len(initial) == len(initials),
        "acc": mean_or_none(scored),
        "judge_failures": sum(bool(r.get("judge_failed")) for r in records),
        "rule_unresolved": stats.rule_unresolved,
        "rule_fallbacks": stats.rule_fallbacks,
        "tokens": mean_or_none([float(r["tokens"]) for r in records]),
        "truncated_rate": mean_or_none([float(r["finish_reason"] == "length") for r in records]),
        "refine_rate": rates["refine_rate"] if policy else None,
        "format_ok_rate": rates["format_ok_rate"] if policy else None,
        "initial_acc": mean_or_none(initial),
    }


def average(per_task: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Macro average over the complete tasks of every averaged metric they have; incomplete ones are listed."""
    complete = {name: m for name, m in per_task.items() if m["complete"]}
    result: dict[str, Any] = {"tasks": len(complete), "incomplete_tasks": sorted(set(per_task) - set(complete))}
    for key in _AVERAGED:
        values = [m[key] for m in complete.values() if m.get(key) is not None]
        result[key] = mean_or_none(values)
    result["judge_failures"] = sum(m["judge_failures"] for m in per_task.values())
    for key in ("rule_unresolved", "rule_fallbacks"):  # absent from runs stored before they were counted
        result[key] = sum(m.get(key, 0) for m in per_task.values())
    return result


def is_complete(results: Mapping[str, Any]) -> bool:
    """Whether a run's results cover every requested task with every record scored."""
    return not results["average"]["incomplete_tasks"] and not results.get("skipped_tasks")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def results_markdown(results: Mapping[str, Any]) -> str:
    """The table of one run: a row per task and the macro average."""
    config = results["config"]
    per_task = results["tasks"]
    header = ["task", "n", "acc (%)", "tokens", "refine (%)", "format ok (%)", "truncated (%)", "judge failures"]
    with_initial = any(m.get("initial_acc") is not None for m in per_task.values())
    if with_initial:
        header.insert(3, "initial acc (%)")
    rows = []
    avg = results["average"]
    for name, m in [*per_task.items(), (f"**{AVERAGE}** ({avg['tasks']} complete tasks)", avg)]:
        row = [name, str(m.get("n", "")), _pct(m["acc"]), _num(m["tokens"]), _pct(m["refine_rate"])]
        row += [_pct(m["format_ok_rate"]), _pct(m["truncated_rate"]), str(m["judge_failures"])]
        if with_initial:
            row.insert(3, _pct(m["initial_acc"]))
        rows.append(row)
    sampling = "greedy" if config["temperature"] <= 0 else f"T={config['temperature']}, top-p={config['top_p']}"
    lines = [
        f"# Evaluation: {config['model']} ({config['mode']})",
        "",
        f"backend {config['backend']}, {sampling}, {config['num_samples']} sample(s), "
        f"max {config['max_new_tokens']} new tokens, scorer {config['scorer']}"
        + (f" (judge {config['judge_model']})" if config.get("judge_model") else ""),
        "",
        *_table(header, rows),
        "",
        "acc: over scored records (judge failures excluded, listed); average: macro over the complete tasks "
        "only (every record scored).",
    ]
    incomplete = avg["incomplete_tasks"]
    if incomplete:
        lines.append(f"INCOMPLETE, not in the average: {', '.join(incomplete)} (judge failures).")
    if avg["judge_failures"]:
        lines.append("Judge failures remain: rerun the same command to re-score them (generations are kept).")
    unresolved = results["average"]["rule_unresolved"]
    if unresolved:
        lines.append(
            f"Rule scorers found no single answer in {unresolved} response(s): "
            f"{results['average']['rule_fallbacks']} judged instead (rule_fallbacks), the rest scored 0."
        )
    for name, reason in results.get("skipped_tasks", {}).items():
        lines.append(f"Skipped {name} (not in the average): {reason}.")
    return "\n".join(lines) + "\n"


# --- comparison of two runs ------------------------------------------------------------------------

# The settings a comparison is about: they may differ between the two runs. Every other stored run
# setting (decoding, samples, prompts, scorer, judge, protocol, and any key added later) must match, or
# the two accuracies measure different things.
COMPARED_SETTINGS = frozenset({"model", "api_model", "backend", "mode"})


def settings_differences(baseline: Mapping[str, Any], candidate: Mapping[str, Any]) -> list[str]:
    """``key: a → b`` for every stored run setting outside :data:`COMPARED_SETTINGS` that differs.

    A key stored by one run only (an older run, a newer setting) counts as different: its value in the
    other run is unknown.
    """
    missing = "(not recorded)"
    keys = sorted((set(baseline) | set(candidate)) - COMPARED_SETTINGS)
    return [
        f"{key}: {baseline.get(key, missing)!r} → {candidate.get(key, missing)!r}"
        for key in keys
        if key not in baseline or key not in candidate or baseline[key] != candidate[key]
    ]


def compare(
    baseline: Mapping[str, Any],
    candidate: Mapping[str, Any],
    baseline_records: Sequence[Record],
    candidate_records: Sequence[Record],
) -> dict[str, Any]:
    """Both runs on the questions both scored, per task and on average.

    Per task (tasks of both runs' results): ``n`` questions (x samples) scored by both runs, both
    accuracies and mean tokens on exactly those, the accuracy change (points) and relative token change,
    the paired outcomes (candidate more / less / equally accurate), and, separately, each run's own
    ``n`` and accuracy over everything it scored (``acc_*_own``). A question scored by one run only (a
    different ``--limit``, a judge failure) is left out of the shared set and makes ``sets_differ``
    true; ``warnings`` says where. The average row is the macro average over tasks with a shared set.
    """
    by_run = [_by_task(baseline_records), _by_task(candidate_records)]
    shared_tasks = [t for t in candidate["tasks"] if t in baseline["tasks"]]
    rows: dict[str, dict[str, Any]] = {
        name: _shared_row(by_run[0].get(name, {}), by_run[1].get(name, {})) for name in shared_tasks
    }
    warnings = [
        f"{name}: the runs scored different questions (baseline {row['n_baseline']} scored, candidate "
        f"{row['n_candidate']}, both {row['n']}; judge failures {row['judge_failures']}); accuracies are on "
        f"the {row['n']} shared ones"
        for name, row in rows.items()
        if row["sets_differ"]
    ]
    for side, own, other in (("baseline", baseline, candidate), ("candidate", candidate, baseline)):
        alone = [t for t in own["tasks"] if t not in other["tasks"]]
        if alone:
            warnings.append(f"only the {side} run has {', '.join(alone)}: left out of the comparison")
    averaged = [row for row in rows.values() if row["n"]]
    rows[AVERAGE] = {
        "tasks": len(averaged),
        "n": sum(row["n"] for row in averaged),
        **{key: mean_or_none([row[key] for row in averaged if row[key] is not None]) for key in _SHARED_MEANS},
        "judge_failures": sum(row["judge_failures"] for row in rows.values()),
    }
    rows[AVERAGE]["acc_change"] = _delta(rows[AVERAGE]["acc_candidate"], rows[AVERAGE]["acc_baseline"])
    rows[AVERAGE]["tokens_relative_change"] = _relative(
        rows[AVERAGE]["tokens_candidate"], rows[AVERAGE]["tokens_baseline"]
    )
    return {
        "baseline": dict(baseline["config"]),
        "candidate": dict(candidate["config"]),
        "tasks": rows,
        "sets_differ": bool(warnings),
        "warnings": warnings,
    }


_SHARED_MEANS = ("acc_baseline", "acc_candidate", "tokens_baseline", "tokens_candidate")


def _key(record: Record) -> tuple[str, int, int]:
    return record["task"], int(record["index"]), int(record["sample"])


def _by_task(records: Sequence[Record]) -> dict[str, dict[tuple[str, int, int], Record]]:
    result: dict[str, dict[tuple[str, int, int], Record]] = {}
    for record in records:
        result.setdefault(record["task"], {})[_key(record)] = record
    return result


def _scored(records: Mapping[Any, Record]) -> dict[Any, Record]:
    return {key: r for key, r in records.items() if r.get("acc") is not None}


def _shared_row(a: Mapping[Any, Record], b: Mapping[Any, Record]) -> dict[str, Any]:
    scored_a, scored_b = _scored(a), _scored(b)
    shared = sorted(scored_a.keys() & scored_b.keys())
    acc_a = mean_or_none([float(scored_a[k]["acc"]) for k in shared])
    acc_b = mean_or_none([float(scored_b[k]["acc"]) for k in shared])
    tokens_a = mean_or_none([float(a[k]["tokens"]) for k in shared])
    tokens_b = mean_or_none([float(b[k]["tokens"]) for k in shared])
    paired = {"better": 0, "worse": 0, "same": 0}
    for k in shared:
        old, new = scored_a[k]["acc"], scored_b[k]["acc"]
        paired["better" if new > old else "worse" if new < old else "same"] += 1
    return {
        "n": len(shared),
        "n_baseline": len(scored_a),
        "n_candidate": len(scored_b),
        # Same questions generated, and each scored by both or by neither (a shared judge failure).
        "sets_differ": a.keys() != b.keys() or not len(shared) == len(scored_a) == len(scored_b),
        "acc_baseline": acc_a,
        "acc_candidate": acc_b,
        "acc_change": _delta(acc_b, acc_a),
        "tokens_baseline": tokens_a,
        "tokens_candidate": tokens_b,
        "tokens_relative_change": _relative(tokens_b, tokens_a),
        "paired": paired,
        "acc_baseline_own": mean_or_none([float(r["acc"]) for r in scored_a.values()]),
        "acc_candidate_own": mean_or_none([float(r["acc"]) for r in scored_b.values()]),
        "judge_failures": sum(bool(r.get("judge_failed")) for r in (*a.values(), *b.values())),
    }


def _relative(new: float | None, old: float | None) -> float | None:
    return None if new is None or old is None or old == 0 else (new - old) / old


def _delta(new: float | None, old: float | None) -> float | None:
    return None if new is None or old is None else new - old


def comparison_markdown(comparison: Mapping[str, Any], labels: tuple[str, str]) -> str:
    a, b = labels
    header = [
        "task",
        "n (both scored)",
        f"acc {a} (%)",
        f"acc {b} (%)",
        "Δ acc (points)",
        f"tokens {a}",
        f"tokens {b}",
        "Δ tokens (%)",
        f"{b} better / worse",
        f"{a} own: n, acc (%)",
        f"{b} own: n, acc (%)",
    ]
    rows = []
    for name, row in comparison["tasks"].items():
        average_row = name == AVERAGE
        paired = row.get("paired")
        rows.append(
            [
                f"**{name}** ({row['tasks']} tasks)" if average_row else name,
                str(row["n"]),
                _pct(row["acc_baseline"]),
                _pct(row["acc_candidate"]),
                _signed(row["acc_change"], 100),
                _num(row["tokens_baseline"]),
                _num(row["tokens_candidate"]),
                _signed(row["tokens_relative_change"], 100),
                f"{paired['better']} / {paired['worse']}" if paired else "",
                "" if average_row else f"{row['n_baseline']}, {_pct(row['acc_baseline_own'])}",
                "" if average_row else f"{row['n_candidate']}, {_pct(row['acc_candidate_own'])}",
            ]
        )
    avg = comparison["tasks"][AVERAGE]
    tokens, accuracy = _signed(avg["tokens_relative_change"], 100), _signed(avg["acc_change"], 100)
    headline = f"{b} vs {a}: tokens {tokens}%, accuracy {accuracy} points (on the questions both runs scored)"
    lines = [f"# {b} vs {a}", ""]
    lines += [f"**WARNING: {warning}.**" for warning in comparison["warnings"]]
    lines += ["", headline, "", *_table(header, rows), ""]
    lines.append(
        "Accuracies, tokens and Δ are on the questions both runs scored (n); 'own' is each run over everything "
        "it scored. Δ tokens: relative change of mean response tokens; average row: macro over tasks."
    )
    if avg["judge_failures"]:
        lines.append(f"{avg['judge_failures']} judge failures across both runs are left out of the shared set.")
    return "\n".join(lines) + "\n"


def _signed(value: float | None, scale: float) -> str:
    return "–" if value is None else f"{scale * value:+.1f}"


def comparison_plot(comparison: Mapping[str, Any], labels: tuple[str, str], path: Path) -> Path:
    """Grouped bars per task: accuracy and mean response tokens of both runs."""
    return save_figure(comparison_figure(comparison, labels), path, dpi=120)


def comparison_figure(comparison: Mapping[str, Any], labels: tuple[str, str]) -> Any:
    """The figure of :func:`comparison_plot` (a matplotlib Figure; tests check its layout)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(comparison["tasks"])
    positions = range(len(names))
    width = 0.4
    figure, axes = plt.subplots(2, 1, figsize=(max(6.0, 0.9 * len(names) + 2), 7), sharex=True)
    for axis, metric, scale, title in (
        (axes[0], "acc", 100.0, "accuracy (%)"),
        (axes[1], "tokens", 1.0, "mean response tokens"),
    ):
        for offset, suffix, label in ((-width / 2, "baseline", labels[0]), (width / 2, "candidate", labels[1])):
            values = [(comparison["tasks"][n][f"{metric}_{suffix}"] or 0.0) * scale for n in names]
            axis.bar([p + offset for p in positions], values, width, label=label)
        axis.set_ylabel(title)
    # Above the plots, outside the axes: a legend inside would cover the tallest bars.
    figure.legend(*axes[0].get_legend_handles_labels(), loc="upper center", ncol=2, frameon=False)
    axes[0].set_title("on the questions both runs scored", fontsize="small")
    axes[1].set_xticks(list(positions), names, rotation=30, ha="right")
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    return figure
