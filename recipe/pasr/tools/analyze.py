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

"""When and how a model refines: analysis of evaluation records or verl rollout dumps.

``python -m recipe.pasr.tools.analyze INPUT [INPUT ...] --output-dir DIR`` reads

* evaluation runs of :mod:`recipe.pasr.tools.evaluate` (a run directory or its ``records.jsonl``);
* verl rollout or validation dumps (``trainer.rollout_data_dir`` / ``trainer.validation_data_dir``:
  ``<step>.jsonl`` files with ``input``, ``output``, ``gts``, ``score``, ``step`` and any reward extra
  info such as ``acc``), a directory of them or single files. Dumps name no task: ``--task`` sets it
  for lines without a ``data_source`` (a line with neither is an error naming it);
* the output of ``pasr-score`` (our JSONL format or a scored dump, whose ``pasr_acc`` wins over the
  dump's own ``acc``).

and writes ``analysis.json``, ``analysis.md`` and ``analysis.png``, per task (and per training step
for dumps):

* refine rate, refine blocks per refining response;
* where refinement happens: each block's start relative to the think content (0 = its start,
  1 = its end), from :meth:`recipe.pasr.response.ParsedResponse.refine_positions`;
* refine length in words;
* flips, where they can be judged: whether the answer went from wrong to right or right to wrong.
  For self-refine runs the two answers are scored records. For PASR responses the answer before
  refining is what the task's rule scorer extracts from the reasoning before the first refine block
  (an approximation: a number or option stated there); responses on judged tasks, or whose earlier
  reasoning states no extractable answer, count as unjudged. Right means acc >= 0.5.

Exit codes: 0 every response analysed with its accuracy; 1 bad input (named by file and line), or
no response at all; 3 written, but incomplete: some responses had no accuracy (a judge failure in the
source), so accuracy and flips leave them out.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from recipe.pasr import exit_codes
from recipe.pasr.jsonl import read_jsonl
from recipe.pasr.metrics import RefineStats
from recipe.pasr.response import REFINE_OPEN, parse_response
from recipe.pasr.reward import RewardConfig, Role
from recipe.pasr.scoring.sample import SampleScorer, ScoreRequest, ScorerMode
from recipe.pasr.tasks import resolve_task
from recipe.pasr.tools.evaluate import RECORDS, load_records
from recipe.pasr.tools.reporting import mean_or_none, save_figure

FLIPS = ("wrong_to_right", "right_to_wrong", "right_to_right", "wrong_to_wrong", "unjudged")
ALL = "all"
POSITION_BINS = 10


@dataclass(frozen=True, slots=True)
class Sample:
    """One response, from either kind of input."""

    origin: str  # file and line
    task: str | None
    mode: str  # pasr | standard | self_refine | rollout
    response: str
    prompt_tail: str = ""
    acc: float | None = None
    ground_truth: str | None = None
    question: str = ""
    initial_acc: float | None = None
    step: int | None = None


# --- reading inputs ---------------------------------------------------------------------------------


def read_inputs(paths: Iterable[Path], task: str | None = None) -> Iterator[Sample]:
    for path in paths:
        if path.is_dir():
            files = [path / RECORDS] if (path / RECORDS).is_file() else sorted(path.glob("*.jsonl"), key=_step_order)
            if not files:
                raise ValueError(f"{path}: neither an evaluation run ({RECORDS}) nor a directory of rollout dumps")
        elif path.is_file():
            files = [path]
        else:
            raise FileNotFoundError(f"input not found: {path}")
        for file in files:
            yield from _read_file(file, task)


def _step_order(path: Path) -> tuple[int, str]:
    return (int(path.stem), "") if path.stem.isdigit() else (sys.maxsize, path.stem)


def _read_file(path: Path, task: str | None) -> Iterator[Sample]:
    if path.name == RECORDS:
        for key, record in load_records(path).items():
            yield _from_eval(record, f"{path}:{key}")
        return
    for line in read_jsonl(path):
        where = f"{path}:{line.number}"
        record = line.record
        if record is None:
            raise ValueError(f"{where}: {line.problem}")
        if "output" in record and "input" in record:
            yield _from_dump(record, where, task)
        elif "response" in record and "task" in record:
            yield _from_eval(record, where)
        elif "response" in record and ("data_source" in record or task):
            yield _from_scored(record, where, task)
        else:
            raise ValueError(f"{where}: neither an evaluation record nor a verl dump line (fields: {sorted(record)})")


def _from_eval(record: Mapping[str, Any], where: str) -> Sample:
    initial = record.get("initial") or {}
    return Sample(
        origin=where,
        task=record["task"],
        mode=record["mode"],
        response=record["response"],
        prompt_tail=record.get("prompt_tail", ""),
        acc=record.get("acc"),
        ground_truth=record.get("ground_truth"),
        question=record.get("question", ""),
        initial_acc=initial.get("acc"),
    )


def _task_name(source: str | None, where: str) -> str:
    if not source:
        raise ValueError(f"{where}: the line names no data_source; pass --task (e.g. --task gsm8k)")
    try:
        return resolve_task(source).name
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _acc(record: Mapping[str, Any]) -> Any:
    """Our accuracy: ``pasr_acc`` when pasr-score kept the dump's own ``acc`` beside it."""
    return record["pasr_acc"] if "pasr_acc" in record else record.get("acc")


def _from_scored(record: Mapping[str, Any], where: str, task: str | None) -> Sample:
    """A line of pasr-score's own format (``uid``, ``response``, ``data_source``, reward fields)."""
    return Sample(
        origin=where,
        task=_task_name(record.get("data_source") or task, where),
        mode="standard" if record.get("role") == "standard" else "pasr",
        response=record["response"],
        acc=_acc(record),
        ground_truth=record.get("ground_truth"),
        question=record.get("question", ""),
    )


def _from_dump(record: Mapping[str, Any], where: str, task: str | None) -> Sample:
    return Sample(
        origin=where,
        task=_task_name(record.get("data_source") or task, where),
        mode="rollout",
        response=record["output"],
        prompt_tail=record["input"][-64:],
        acc=_acc(record),
        ground_truth=record.get("gts"),
        question=record.get("question", ""),
        step=record.get("step"),
    )


# --- per-response analysis --------------------------------------------------------------------------


@dataclass
class Observation:
    is_refine: bool
    format_ok: bool | None
    acc: float | None
    positions: list[float]
    lengths: list[int]
    flip: str | None  # one of FLIPS for refining responses, None otherwise


class Analyzer:
    """Parses responses and judges flips with the reward core's rule scorers."""

    def __init__(self) -> None:
        self.scorer = SampleScorer(RewardConfig(), ScorerMode.RULE)

    def observe(self, sample: Sample) -> Observation | None:
        """None for standard responses: there is no refinement to look at."""
        if sample.mode == "standard":
            return None
        if sample.mode == "self_refine":
            return Observation(True, None, sample.acc, [], [], _flip(sample.initial_acc, sample.acc))
        parsed = parse_response(sample.response, sample.prompt_tail)
        acc = sample.acc if sample.acc is not None else self._rule_acc(sample, sample.response, Role.POLICY)
        if not parsed.is_refine:
            return Observation(False, parsed.format_ok, acc, [], [], None)
        first = parsed.refine_blocks[0].span.start - len(REFINE_OPEN)
        before = parsed.text[parsed.think.start : first] if parsed.think is not None else ""
        earlier = self._rule_acc(sample, before, Role.STANDARD, need_extraction=True)
        return Observation(
            True,
            parsed.format_ok,
            acc,
            parsed.refine_positions(),
            [len(block.text.split()) for block in parsed.refine_blocks],
            _flip(earlier, acc),
        )

    def _rule_acc(self, sample: Sample, text: str, role: Role, need_extraction: bool = False) -> float | None:
        """acc of ``text`` by the task's rule, or None where no rule applies (or nothing was extracted)."""
        if sample.task is None or sample.ground_truth is None or resolve_task(sample.task).rule is None:
            return None
        request = ScoreRequest(text, str(sample.ground_truth), sample.task, sample.question, role, sample.prompt_tail)
        scored, _ = self.scorer.score_rule(request)
        if need_extraction and scored.extracted is None:
            return None
        return scored.acc


def _flip(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "unjudged"
    was, now = ("right" if before >= 0.5 else "wrong"), ("right" if after >= 0.5 else "wrong")
    return f"{was}_to_{now}"


# --- aggregation ------------------------------------------------------------------------------------


@dataclass
class Group:
    observations: list[Observation] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        stats = RefineStats()
        for obs in self.observations:
            stats.add({"role": "policy", "is_refine": obs.is_refine, "format_ok": obs.format_ok, "acc": obs.acc})
        refining = [o for o in self.observations if o.is_refine]
        positions = [p for o in refining for p in o.positions]
        firsts = [o.positions[0] for o in refining if o.positions]
        lengths = [n for o in refining for n in o.lengths]
        flips = Counter(o.flip for o in refining)
        histogram = [0] * POSITION_BINS
        for position in positions:
            histogram[min(int(position * POSITION_BINS), POSITION_BINS - 1)] += 1
        return {
            "responses": len(self.observations),
            "refining": len(refining),
            "refine_rate": stats.as_metrics("")["refine_rate"],
            "refines_per_refining_response": mean_or_none([len(o.positions) for o in refining if o.positions]),
            "position_mean": mean_or_none(positions),
            "position_median": median(positions) if positions else None,
            "first_position_mean": mean_or_none(firsts),
            "position_histogram": histogram,
            "refine_words_mean": mean_or_none(lengths),
            "refine_words_median": median(lengths) if lengths else None,
            "acc_refining": mean_or_none([o.acc for o in refining if o.acc is not None]),
            "acc_not_refining": mean_or_none(
                [o.acc for o in self.observations if not o.is_refine and o.acc is not None]
            ),
            "flips": {name: flips.get(name, 0) for name in FLIPS},
            "positions": positions,
            "lengths": lengths,
        }


def analyze(samples: Iterable[Sample]) -> dict[str, Any]:
    """Summaries per task (and ``all``), per step for rollout dumps, and what was left out."""
    analyzer = Analyzer()
    by_task: dict[str, Group] = defaultdict(Group)
    by_step: dict[int, Group] = defaultdict(Group)
    skipped = Counter()
    for sample in samples:
        obs = analyzer.observe(sample)
        if obs is None:
            skipped[f"{sample.mode} responses (no refinement)"] += 1
            continue
        if obs.acc is None:
            skipped["responses without an accuracy (not scored in the source, e.g. a judge failure)"] += 1
        by_task[str(sample.task)].observations.append(obs)
        by_task[ALL].observations.append(obs)
        if sample.step is not None:
            by_step[sample.step].observations.append(obs)
    return {
        "tasks": {name: by_task[name].summary() for name in sorted(by_task, key=lambda n: (n == ALL, n))},
        "steps": {step: by_step[step].summary() for step in sorted(by_step)},
        "skipped": dict(skipped),
    }


# --- outputs ----------------------------------------------------------------------------------------


def _fmt(value: float | None, scale: float = 1.0, digits: int = 2) -> str:
    return "–" if value is None else f"{scale * value:.{digits}f}"


def markdown(analysis: Mapping[str, Any]) -> str:
    header = [
        "task", "responses", "refine (%)", "blocks / refining", "first pos", "pos median", "words median",
        "acc refining", "acc not", "wrong→right", "right→wrong", "unjudged",
    ]  # fmt: skip
    lines = ["# Refinement analysis", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, s in analysis["tasks"].items():
        flips = s["flips"]
        row = [
            f"**{name}**" if name == ALL else name,
            str(s["responses"]),
            _fmt(s["refine_rate"], 100, 1),
            _fmt(s["refines_per_refining_response"]),
            _fmt(s["first_position_mean"]),
            _fmt(s["position_median"]),
            _fmt(s["refine_words_median"], digits=0),
            _fmt(s["acc_refining"]),
            _fmt(s["acc_not_refining"]),
            str(flips["wrong_to_right"]),
            str(flips["right_to_wrong"]),
            str(flips["unjudged"]),
        ]
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "Positions: start of a refine block relative to the think content (0 = start, 1 = end). Flips: the answer "
        "before refining (self-refine: the first answer; PASR: what the rule scorer extracts from the reasoning "
        "before the first refine block) against the final answer; right = acc >= 0.5.",
    ]
    if analysis["steps"]:
        lines += ["", "| step | responses | refine (%) | first pos |", "|---|---|---|---|"]
        for step, s in analysis["steps"].items():
            lines.append(
                f"| {step} | {s['responses']} | {_fmt(s['refine_rate'], 100, 1)} | {_fmt(s['first_position_mean'])} |"
            )
    for reason, count in analysis["skipped"].items():
        lines.append(f"\nLeft out: {count} {reason}.")
    return "\n".join(lines) + "\n"


def plot(analysis: Mapping[str, Any], path: Path) -> Path:
    return save_figure(figure(analysis), path, dpi=120)


def figure(analysis: Mapping[str, Any]) -> Any:
    """The four panels of ``analysis.png`` (a matplotlib Figure; tests check its layout)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    overall = analysis["tasks"].get(ALL)
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    if overall is not None:
        axes[0, 0].hist(overall["positions"], bins=POSITION_BINS, range=(0, 1))
        # Two-line labels ("wrong →" over "right"): five long names side by side would overlap.
        axes[0, 1].bar([name.replace("_to_", " →\n") for name in FLIPS], [overall["flips"][name] for name in FLIPS])
        axes[1, 0].hist(overall["lengths"], bins=20)
    for axis, ylabel in ((axes[0, 0], "refine blocks"), (axes[0, 1], "refining responses"), (axes[1, 0], "blocks")):
        axis.set_ylabel(ylabel)
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 ticks
    axes[0, 0].set_title("where refinement starts (relative position in reasoning)")
    axes[0, 0].set_xlabel("position (0 = start of reasoning, 1 = end)")
    axes[0, 1].set_title("answer flips through refinement")
    axes[1, 0].set_title("refine length (words)")
    axes[1, 0].set_xlabel("words per refine block")
    rates = axes[1, 1]
    if analysis["steps"]:
        steps = list(analysis["steps"])
        rates.plot(steps, [100 * analysis["steps"][s]["refine_rate"] for s in steps], marker="o")
        rates.set_xlabel("training step")
    else:
        tasks = [name for name in analysis["tasks"] if name != ALL]
        # Horizontal bars: ten task names side by side overlap on an x axis, stacked they do not.
        rates.barh(tasks, [100 * analysis["tasks"][name]["refine_rate"] for name in tasks])
        rates.invert_yaxis()
    rates.set_title("refine rate")
    rates.set_xlabel("refine rate (% of responses)") if not analysis["steps"] else rates.set_ylabel("refine rate (%)")
    fig.tight_layout()
    return fig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m recipe.pasr.tools.analyze",
        description=__doc__.split("\n\n")[0],
        epilog=f"Exit codes: 0 every response analysed, 1 bad or empty input, {exit_codes.INCOMPLETE_HELP}.",
    )
    parser.add_argument(
        "inputs", nargs="+", type=Path, help="evaluation run dirs or records.jsonl; verl dump dirs or files"
    )
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--task", help="task of verl dump lines that carry no data_source (e.g. gsm8k)")
    return parser


@exit_codes.quiet_broken_pipe
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        analysis = analyze(read_inputs(args.inputs, args.task))
        if not analysis["tasks"] and not analysis["skipped"]:
            raise ValueError(f"no responses in {', '.join(map(str, args.inputs))} (empty input?)")
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "analysis.json").write_text(json.dumps(analysis, indent=2) + "\n")
    text = markdown(analysis)
    (args.output_dir / "analysis.md").write_text(text)
    plot(analysis, args.output_dir / "analysis.png")
    print(text)
    unscored = sum(count for reason, count in analysis["skipped"].items() if reason.startswith("responses without"))
    if unscored:
        print(f"INCOMPLETE: {unscored} response(s) without an accuracy", file=sys.stderr)
        return exit_codes.INCOMPLETE
    return exit_codes.OK


if __name__ == "__main__":
    sys.exit(main())
