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

Averages are macro averages over tasks, as the paper reports them. The comparison headlines what the
paper does: the relative change in mean response tokens and the change in accuracy (points).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import fmean
from typing import Any

from recipe.pasr.metrics import RefineStats

Record = Mapping[str, Any]

AVERAGE = "average"
_AVERAGED = ("acc", "tokens", "refine_rate", "format_ok_rate", "truncated_rate", "initial_acc")


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None


def task_metrics(records: Sequence[Record]) -> dict[str, Any]:
    """Metrics of one task's records (see module docstring)."""
    scored = [float(r["acc"]) for r in records if r.get("acc") is not None]
    policy = [r for r in records if r.get("role") == "policy"]
    stats = RefineStats()
    for record in records:  # standard-role records only count towards failures and rule counts
        stats.add(record)
    rates = stats.as_metrics(prefix="")
    initial = [float(r["initial"]["acc"]) for r in records if r.get("initial") and r["initial"].get("acc") is not None]
    return {
        "n": len(records),
        "scored": len(scored),
        "acc": _mean(scored),
        "judge_failures": sum(bool(r.get("judge_failed")) for r in records),
        "rule_unresolved": stats.rule_unresolved,
        "rule_fallbacks": stats.rule_fallbacks,
        "tokens": _mean([float(r["tokens"]) for r in records]),
        "truncated_rate": _mean([float(r["finish_reason"] == "length") for r in records]),
        "refine_rate": rates["refine_rate"] if policy else None,
        "format_ok_rate": rates["format_ok_rate"] if policy else None,
        "initial_acc": _mean(initial),
    }


def average(per_task: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Macro average over tasks of every averaged metric that the tasks have."""
    result: dict[str, Any] = {"tasks": len(per_task)}
    for key in _AVERAGED:
        values = [m[key] for m in per_task.values() if m.get(key) is not None]
        result[key] = _mean(values)
    result["judge_failures"] = sum(m["judge_failures"] for m in per_task.values())
    for key in ("rule_unresolved", "rule_fallbacks"):  # absent from runs stored before they were counted
        result[key] = sum(m.get(key, 0) for m in per_task.values())
    return result


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
    for name, m in [*per_task.items(), (f"**{AVERAGE}**", results["average"])]:
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
        "acc: over scored records (judge failures excluded, listed); average: macro over tasks.",
    ]
    if results["average"]["judge_failures"]:
        lines.append("Judge failures remain: rerun the same command to re-score them (generations are kept).")
    unresolved = results["average"]["rule_unresolved"]
    if unresolved:
        lines.append(
            f"Rule scorers found no single answer in {unresolved} response(s): "
            f"{results['average']['rule_fallbacks']} judged instead (rule_fallbacks), the rest scored 0."
        )
    for name, reason in results.get("skipped_tasks", {}).items():
        lines.append(f"Skipped {name}: {reason}.")
    return "\n".join(lines) + "\n"


# --- comparison of two runs ------------------------------------------------------------------------


def _relative(new: float | None, old: float | None) -> float | None:
    return None if new is None or old is None or old == 0 else (new - old) / old


def _delta(new: float | None, old: float | None) -> float | None:
    return None if new is None or old is None else new - old


def compare(
    baseline: Mapping[str, Any],
    candidate: Mapping[str, Any],
    baseline_records: Sequence[Record],
    candidate_records: Sequence[Record],
) -> dict[str, Any]:
    """Per task and on average: accuracies, tokens, relative token change, accuracy change, and paired
    outcomes (questions where the candidate is more / less accurate than the baseline)."""
    acc_a = {_key(r): r["acc"] for r in baseline_records if r.get("acc") is not None}
    paired: dict[str, dict[str, int]] = {}
    for record in candidate_records:
        old, new = acc_a.get(_key(record)), record.get("acc")
        if old is None or new is None:
            continue
        counts = paired.setdefault(record["task"], {"better": 0, "worse": 0, "same": 0})
        counts["better" if new > old else "worse" if new < old else "same"] += 1
    shared = [t for t in candidate["tasks"] if t in baseline["tasks"]]
    rows: dict[str, dict[str, Any]] = {}
    for name in shared:
        rows[name] = _compare_row(baseline["tasks"][name], candidate["tasks"][name])
        rows[name]["paired"] = paired.get(name, {"better": 0, "worse": 0, "same": 0})
    avg_a = average({t: baseline["tasks"][t] for t in shared})
    avg_b = average({t: candidate["tasks"][t] for t in shared})
    rows[AVERAGE] = _compare_row(avg_a, avg_b)
    return {"baseline": dict(baseline["config"]), "candidate": dict(candidate["config"]), "tasks": rows}


def _key(record: Record) -> tuple[str, int, int]:
    return record["task"], int(record["index"]), int(record["sample"])


def _compare_row(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "acc_baseline": a["acc"],
        "acc_candidate": b["acc"],
        "acc_change": _delta(b["acc"], a["acc"]),
        "tokens_baseline": a["tokens"],
        "tokens_candidate": b["tokens"],
        "tokens_relative_change": _relative(b["tokens"], a["tokens"]),
        "judge_failures": a["judge_failures"] + b["judge_failures"],
    }


def comparison_markdown(comparison: Mapping[str, Any], labels: tuple[str, str]) -> str:
    a, b = labels
    header = [
        "task",
        f"acc {a} (%)",
        f"acc {b} (%)",
        "Δ acc (points)",
        f"tokens {a}",
        f"tokens {b}",
        "Δ tokens (%)",
        f"{b} better / worse",
    ]
    rows = []
    for name, row in comparison["tasks"].items():
        paired = row.get("paired")
        rows.append(
            [
                f"**{name}**" if name == AVERAGE else name,
                _pct(row["acc_baseline"]),
                _pct(row["acc_candidate"]),
                _signed(row["acc_change"], 100),
                _num(row["tokens_baseline"]),
                _num(row["tokens_candidate"]),
                _signed(row["tokens_relative_change"], 100),
                f"{paired['better']} / {paired['worse']}" if paired else "",
            ]
        )
    avg = comparison["tasks"][AVERAGE]
    tokens, accuracy = _signed(avg["tokens_relative_change"], 100), _signed(avg["acc_change"], 100)
    headline = f"{b} vs {a}: tokens {tokens}%, accuracy {accuracy} points"
    lines = [f"# {b} vs {a}", "", headline, "", *_table(header, rows), ""]
    lines.append("Δ tokens: relative change of mean response tokens; average row: macro averages over shared tasks.")
    if avg["judge_failures"]:
        lines.append(f"{avg['judge_failures']} judge failures across both runs are excluded from accuracies.")
    return "\n".join(lines) + "\n"


def _signed(value: float | None, scale: float) -> str:
    return "–" if value is None else f"{scale * value:+.1f}"


def comparison_plot(comparison: Mapping[str, Any], labels: tuple[str, str], path: Path) -> Path:
    """Grouped bars per task: accuracy and mean response tokens of both runs."""
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
        axis.legend()
    axes[1].set_xticks(list(positions), names, rotation=30, ha="right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
