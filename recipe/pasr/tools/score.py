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

"""Offline scoring CLI: the PASR reward on a JSONL file of responses.

    python -m recipe.pasr.tools.score --input in.jsonl --output out.jsonl [--scorer auto|rule|judge]
        [--judge-url URL --judge-model NAME] [--baseline in_group|paired|precomputed]
    python -m recipe.pasr.tools.score --demo

Each input line is one response: ``uid`` (prompt group id), ``response``, ``ground_truth``,
``data_source``, ``question``, optional ``role`` and ``baseline_acc``; or a line of the JSONL that
verl 0.9.1 writes with ``trainer.rollout_data_dir`` (``input``, ``output``, ``gts``, ``uid`` =
``{prompt uid}_{session}_{index}``; ``--data-source`` supplies the data source such files lack).
Each output line is the input record plus the reward fields of :func:`recipe.pasr.reward.result_record`,
in input order; a summary goes to stderr. A verl dump line keeps every field verl wrote: a reward field
whose name it already has (verl's own ``score``, reward extra info such as ``acc``) is written as
``pasr_<name>`` instead, and the data source used is recorded as ``data_source``. Lines of our own
format are re-scored in place (their reward fields are replaced).

Streaming. The refinement bonus needs a whole prompt group, and a stream cannot tell whether a uid
will come back. So the file is read twice: the first pass validates every line (a malformed file
fails before a single judge call is spent) and counts the records of each group, O(#groups) memory;
the second pass scores, and emits a group the moment its last record is scored. Output lines are
held back until every earlier line is done, so the order is kept. When each group's records are
adjacent (as verl writes them) at most one group is held; interleaved groups are still scored
correctly, holding back only as much as the interleaving requires. The input must therefore be a
regular file, not a pipe.

Rule-scored records are scored inline and synchronously (no per-record task or thread hop: they are
the bulk of most files); judged ones run as concurrent tasks, bounded, with the judge client's own
connection limit below that.

Judge failures. A failed judge verdict is marked in its line (``judge_failed``, ``judge_error``) and
handled by ``--judge-failure-policy``. When failures pass ``--judge-failure-max-rate`` (after
``--judge-failure-min-count`` judged responses) no further judge request is sent: the remaining judged
lines are written as failures too (``judge_error`` says they were not sent), so the output is complete
and shows what a rerun must re-score. A judge that failed every request is named once as unreachable
or misconfigured.

Exit codes: 0 every line scored; 1 a judge failure under ``--judge-failure-policy raise`` (no output);
2 bad usage or bad input (the message names the line), an empty input; 3 output written in full but
incomplete: judge failures, or lines skipped with ``--skip-invalid``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from tqdm import tqdm

from recipe.pasr import exit_codes
from recipe.pasr.jsonl import JsonLine, read_jsonl
from recipe.pasr.metrics import RefineStats
from recipe.pasr.reward import (
    BaselineMode,
    JudgeFailureError,
    JudgeFailureMonitor,
    JudgeFailurePolicy,
    RewardConfig,
    Role,
    SampleScore,
    result_record,
    score_group,
)
from recipe.pasr.scoring.judge import JudgeClient, add_judge_arguments, judge_from_args
from recipe.pasr.scoring.sample import (
    DEFAULT_JUDGE_TARGET,
    DEFAULT_SCORER,
    JudgeTarget,
    SampleScorer,
    ScoreRequest,
    ScorerMode,
    ScorerSetupError,
)
from recipe.pasr.tasks import UnknownDataSource, resolve_task

PROG = "pasr-score"
_SHOWN_SKIPS = 20  # skipped lines reported one by one; the rest only in the count
_HOLD_SOFT_LIMIT = 1024  # held-back lines above which the reader waits for judge replies


class InputError(ValueError):
    """A malformed input line (bad JSON, missing or mistyped field, unknown data source, bad reference)."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")


# --- input records ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One validated input line. ``fields`` is the parsed object, echoed into the output line."""

    line: int
    fields: dict[str, Any]
    group: str
    request: ScoreRequest
    judged: bool
    dump: bool = False  # a verl rollout dump line: its own fields are never overwritten


def _get(
    obj: dict[str, Any], key: str, line: int, kinds: tuple[type, ...], expected: str, required: bool = True
) -> Any:
    """``obj[key]`` checked against ``kinds`` (null is absent for optional fields; a bool is never a number)."""
    value = obj.get(key)
    if value is None:
        if required:
            raise InputError(line, f"field {key!r} is {'null' if key in obj else 'missing'}")
        return None
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise InputError(line, f"field {key!r} must be {expected}, got {type(value).__name__}")
    return value


def prompt_uid(key: str) -> str:
    """The prompt part of a verl rollout key ``{prompt uid}_{session}_{index}`` (other keys unchanged)."""
    parts = key.rsplit("_", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return parts[0]
    return key


def parse_record(read: JsonLine, scorer: SampleScorer, default_data_source: str | None) -> Record:
    """Validate one line. A record scoring cannot handle with ``scorer`` raises ScorerSetupError naming it."""
    line, obj = read.number, read.record
    if obj is None:
        raise InputError(line, str(read.problem))
    # A verl rollout dump line has input/output/gts; anything else is read as our own format, so a
    # line with neither shape is reported as missing 'response'.
    dump = "response" not in obj and "output" in obj
    response_key, reference_key, question_key = (
        ("output", "gts", "input") if dump else ("response", "ground_truth", "question")
    )
    uid = _get(obj, "uid", line, (str,) if dump else (str, int), "a string" if dump else "a string or an integer")
    response = _get(obj, response_key, line, (str,), "a string")
    reference = _get(obj, reference_key, line, (str, int, float), "a string or a number")
    question = _get(obj, question_key, line, (str,), "a string")
    data_source = _get(obj, "data_source", line, (str,), "a string", required=False) or default_data_source
    if data_source is None:
        raise InputError(line, "field 'data_source' is missing (pass --data-source for files without it)")
    try:
        task = resolve_task(data_source)
    except UnknownDataSource as exc:
        raise InputError(line, f"field 'data_source': {exc}") from None
    role_value = _get(obj, "role", line, (str,), "a string", required=False) or Role.POLICY
    try:
        role = Role(role_value)
    except ValueError:
        raise InputError(line, f"field 'role' must be 'policy' or 'standard', got {role_value!r}") from None
    baseline_acc = _get(obj, "baseline_acc", line, (int, float), "a number", required=False)
    if baseline_acc is not None and not (math.isfinite(baseline_acc) and 0.0 <= baseline_acc <= 1.0):
        raise InputError(line, f"field 'baseline_acc' must be in [0, 1], got {baseline_acc!r}")
    try:
        judged = scorer.uses_judge(task)
    except ScorerSetupError as exc:
        raise ScorerSetupError(f"line {line} (uid {uid!r}): {exc}") from None
    request = ScoreRequest(
        response=response,
        ground_truth=str(reference),
        data_source=data_source,
        question=question,
        role=role,
        prompt_tail=question if dump else "",  # verl's decoded prompt may end with an opened <think>
        baseline_acc=baseline_acc,
    )
    return Record(line, obj, prompt_uid(uid) if dump else str(uid), request, judged, dump)


def read_records(
    path: Path, parse: Callable[[JsonLine], Record], on_skip: Callable[[InputError], None] | None
) -> Iterator[Record]:
    """Valid records of a JSONL file: a malformed line raises, or goes to ``on_skip``. Blank lines are ignored."""
    for line in read_jsonl(path):
        try:
            yield parse(line)
        except InputError as exc:
            if on_skip is None:
                raise
            on_skip(exc)


# --- grouping and ordering -------------------------------------------------------------------------


@dataclass(slots=True)
class _Slot:
    record: Record
    sample: SampleScore | None = None
    output: dict[str, Any] | None = None
    reward: dict[str, Any] | None = None


def output_line(record: Record, reward: dict[str, Any]) -> dict[str, Any]:
    """The input fields plus the reward fields (see module docstring for verl dump lines)."""
    if not record.dump:
        return {**record.fields, **reward}
    line = {"data_source": record.request.data_source, **record.fields}
    line.update((f"pasr_{key}" if key in record.fields else key, value) for key, value in reward.items())
    return line


class GroupedScorer:
    """Scores records as they come and emits output records in input order, each group when complete.

    ``expected`` maps each group to its number of records (the first pass). ``max_held`` is the
    high-water mark of records held in memory: the size of the largest group for adjacent groups.
    """

    def __init__(
        self,
        scorer: SampleScorer,
        expected: Counter[str],
        emit: Callable[[dict[str, Any], dict[str, Any]], None],
        on_skip: Callable[[InputError], None] | None,
        max_in_flight: int,
    ) -> None:
        self.scorer = scorer
        self.config = scorer.config
        self.expected = expected
        self.emit = emit
        self.on_skip = on_skip
        self.max_in_flight = max_in_flight
        self.monitor = JudgeFailureMonitor(self.config.judge_failure_max_rate, self.config.judge_failure_min_count)
        self.stopped: str | None = None  # why no more judge requests are sent (the failure rate tripped)
        self.first_judge_error: str | None = None
        self.groups = 0
        self.max_held = 0
        self._held: deque[_Slot] = deque()
        self._open: dict[str, list[_Slot]] = {}
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._finished: list[tuple[_Slot, asyncio.Task[Any]]] = []
        self._progress = asyncio.Event()

    async def add(self, record: Record) -> None:
        if record.judged and self.stopped is not None:
            self._scored(self._hold(record), self._not_sent(record.request))
        elif record.judged:
            await self._submit(self._hold(record), self.scorer.score(record.request))
        else:
            try:
                sample, _ = self.scorer.score_rule(record.request)
            except ValueError as exc:  # a reference the rule cannot read, e.g. a GSM8K answer without "#### N"
                error = InputError(record.line, f"field 'ground_truth': {exc}")
                if self.on_skip is None:
                    raise error from None
                self.on_skip(error)
                self._count_down(record.group)
            else:
                slot = self._hold(record)
                if self.scorer.falls_back(sample) and self.stopped is not None:  # a fallback the judge never saw
                    self._scored(slot, self._mark_not_sent(sample))
                elif self.scorer.falls_back(sample):  # scorer "fallback": the rule found no single answer
                    await self._submit(slot, self._judge_unresolved(sample, record.request))
                else:
                    self._scored(slot, sample)
        await self._wait_for_judge(everything=False)

    async def _submit(self, slot: _Slot, scoring: Coroutine[Any, Any, tuple[SampleScore, Any]]) -> None:
        task = asyncio.ensure_future(scoring)
        self._in_flight.add(task)
        task.add_done_callback(partial(self._judged, slot))
        await asyncio.sleep(0)  # let the request go out now, not when the reader next waits

    async def _judge_unresolved(self, sample: SampleScore, request: ScoreRequest) -> tuple[SampleScore, None]:
        await self.scorer.judge_unresolved(sample, request)
        return sample, None

    async def finish(self) -> None:
        """Wait for the judge replies still out; every group must be complete afterwards."""
        await self._wait_for_judge(everything=True)
        if self.expected:
            raise RuntimeError(f"{len(self.expected)} group(s) never completed: the input changed while being scored")

    def cancel(self) -> None:
        for task in self._in_flight:
            task.cancel()

    def _not_sent(self, request: ScoreRequest) -> SampleScore:
        """A judged record after the judge was given up on: a marked failure, unless there is no answer."""
        sample, _, judged = self.scorer.prepare(request)
        if judged is None:
            sample.acc, sample.scorer = self.config.missing_answer_acc, "none"
        else:
            self._mark_not_sent(sample)
        return sample

    def _mark_not_sent(self, sample: SampleScore) -> SampleScore:
        sample.scorer, sample.judge_failed = "judge", True
        sample.judge_error = f"not sent: {self.stopped}"
        return sample

    def _hold(self, record: Record) -> _Slot:
        slot = _Slot(record)
        self._held.append(slot)
        self._open.setdefault(record.group, []).append(slot)
        self.max_held = max(self.max_held, len(self._held))
        return slot

    def _judged(self, slot: _Slot, task: asyncio.Task[Any]) -> None:
        # Done callback: only queue; scoring bookkeeping (which may raise) runs in the reader's flow.
        self._in_flight.discard(task)
        self._finished.append((slot, task))
        self._progress.set()

    async def _wait_for_judge(self, everything: bool) -> None:
        """Take in finished replies; wait for more while too many are out or too much is held (or for all)."""
        self._drain()
        while self._in_flight and (
            everything or len(self._in_flight) >= self.max_in_flight or len(self._held) > _HOLD_SOFT_LIMIT
        ):
            self._progress.clear()
            await self._progress.wait()
            self._drain()

    def _drain(self) -> None:
        finished, self._finished = self._finished, []
        for slot, task in finished:
            sample, _ = task.result()
            self._scored(slot, sample)

    def _scored(self, slot: _Slot, sample: SampleScore) -> None:
        slot.sample = sample
        if sample.judge_failed and self.first_judge_error is None:
            self.first_judge_error = sample.judge_error
        try:
            self.monitor.record(sample)
        except JudgeFailureError as exc:
            self.stopped = self.stopped or f"judge given up on: {exc}"
        self._count_down(slot.record.group)

    def _count_down(self, group: str) -> None:
        """One record of ``group`` is done (scored or skipped); on the last one, score the group and emit."""
        self.expected[group] -= 1
        if self.expected[group]:
            return
        del self.expected[group]
        slots = self._open.pop(group, [])
        samples = [slot.sample for slot in slots if slot.sample is not None]  # all of them: zip checks
        for slot, sample, result in zip(slots, samples, score_group(samples, self.config), strict=True):
            slot.reward = result_record(sample, result)
            slot.output = output_line(slot.record, slot.reward)
        self.groups += bool(slots)
        while self._held and (output := self._held[0].output) is not None:
            slot = self._held.popleft()
            assert slot.reward is not None
            self.emit(output, slot.reward)


# --- running -----------------------------------------------------------------------------------------


@dataclass
class Summary:
    """What the run printed on stderr: :class:`RefineStats` plus counts only the CLI knows."""

    missing_answer_acc: float
    stats: RefineStats = field(default_factory=RefineStats)
    groups: int = 0
    skipped_lines: int = 0
    no_answer: int = 0
    max_held: int = 0
    judge_stopped: str | None = None
    judge_diagnosis: str | None = None

    @property
    def complete(self) -> bool:
        """Every line scored: no judge failure and no skipped line."""
        return not (self.stats.judge_failures or self.skipped_lines)

    def add(self, record: dict[str, Any]) -> None:
        self.stats.add(record)
        self.no_answer += record["scorer"] == "none"

    def render(self) -> str:
        s = self.stats
        rates = s.as_metrics(prefix="")
        unbased = f", {s.refining_without_baseline} without baseline" if s.refining_without_baseline else ""
        return "\n".join(
            [
                f"{PROG}: {s.responses} responses (+{s.standard_responses} standard) in {self.groups} groups",
                f"  refine rate       {rates['refine_rate']:.3f}  "
                f"({s.refining} refining: {s.wins} win / {s.losses} loss / {s.ties} tie{unbased})",
                f"  format pass rate  {rates['format_ok_rate']:.3f}",
                f"  mean acc          {rates['acc_mean']:.3f}  "
                f"({self.no_answer} without an extractable answer, scored {self.missing_answer_acc:g})",
                f"  judge failures    {s.judge_failures}  ({s.neutralized} responses neutralised)",
                f"  judge deduplicated {s.judge_deduplicated}  (verdicts shared between identical answers)",
                f"  rule unresolved   {s.rule_unresolved}  (no single answer found; rule_fallbacks: "
                f"{s.rule_fallbacks} judged instead, the rest scored 0)",
                f"  skipped lines     {self.skipped_lines}",
                *([f"STOPPED JUDGING: {self.judge_stopped}"] if self.judge_stopped else []),
                *([f"ERROR: {self.judge_diagnosis}"] if self.judge_diagnosis else []),
                *(
                    []
                    if self.complete
                    else [f"INCOMPLETE: {s.judge_failures} judge failure(s), {self.skipped_lines} skipped line(s)"]
                ),
            ]
        )


@dataclass(frozen=True, slots=True)
class RunOptions:
    data_source: str | None = None
    skip_invalid: bool = False
    progress: bool = False
    max_in_flight: int = 128


async def score_file(
    path: Path, emit: Callable[[dict[str, Any]], None], scorer: SampleScorer, options: RunOptions
) -> Summary:
    """Score ``path`` in two passes (see module docstring), handing each output record to ``emit`` in order."""
    summary = Summary(scorer.config.missing_answer_acc)

    def skip(error: InputError) -> None:
        summary.skipped_lines += 1
        if summary.skipped_lines <= _SHOWN_SKIPS:
            print(f"{PROG}: skipped {error}", file=sys.stderr)

    def parse(line: JsonLine) -> Record:
        return parse_record(line, scorer, options.data_source)

    on_skip = skip if options.skip_invalid else None
    expected = Counter(record.group for record in read_records(path, parse, on_skip))
    if not expected and not summary.skipped_lines:
        raise InputError(None, f"{path} holds no records (an empty file?)")
    with tqdm(total=expected.total(), desc=PROG, unit="resp", disable=not options.progress, file=sys.stderr) as bar:

        def emit_one(record: dict[str, Any], reward: dict[str, Any]) -> None:
            emit(record)
            summary.add(reward)
            bar.update()

        engine = GroupedScorer(scorer, expected, emit_one, on_skip, options.max_in_flight)
        try:
            # Same lines as the first pass, same verdicts: skips were counted and reported there.
            for record in read_records(path, parse, None if on_skip is None else lambda _: None):
                await engine.add(record)
            await engine.finish()
        finally:
            engine.cancel()
    summary.groups, summary.max_held = engine.groups, engine.max_held
    summary.judge_stopped = engine.stopped
    judge_url = scorer.judge.config.url if scorer.judge is not None else None
    monitor = engine.monitor
    summary.judge_diagnosis = exit_codes.judge_diagnosis(
        judge_url, monitor.judged, monitor.failed, engine.first_judge_error
    )
    return summary


async def _run(
    path: Path, emit: Callable[[dict[str, Any]], None], scorer: SampleScorer, options: RunOptions
) -> Summary:
    try:
        return await score_file(path, emit, scorer, options)
    finally:
        if scorer.judge is not None:
            await scorer.judge.aclose()


def _jsonl_writer(sink: Any) -> Callable[[dict[str, Any]], None]:
    return lambda record: sink.write(json.dumps(record, ensure_ascii=False) + "\n")


def _score_to_file(args: argparse.Namespace, scorer: SampleScorer, options: RunOptions) -> Summary:
    """Write to a temporary file beside the output and rename it at the end: no half-written output,
    and ``--output`` may even name the input."""
    output = Path(args.output)
    partial_output = output.with_name(output.name + ".partial")
    try:
        with partial_output.open("w", encoding="utf-8") as sink:
            summary = asyncio.run(_run(Path(args.input), _jsonl_writer(sink), scorer, options))
        os.replace(partial_output, output)
    finally:
        partial_output.unlink(missing_ok=True)
    return summary


# --- demo ------------------------------------------------------------------------------------------

_TABLE = "{:>4} {:<10} {:<8} {:>7} {:<6} {:>5} {:>8} {:>5} {:>5}  {}"


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


_BASELINE_LEGEND = {
    BaselineMode.IN_GROUP: "Baseline (in_group): mean acc of the group's non-refining policy responses; standard "
    "responses are left out (try --demo --baseline paired).",
    BaselineMode.PAIRED: "Baseline (paired): mean acc of the group's standard responses; a group without any gets "
    "no bonus.",
    BaselineMode.PRECOMPUTED: "Baseline (precomputed): the records' baseline_acc; the demo records carry none, so "
    "there is no bonus.",
}


def demo_table(records: list[dict[str, Any]]) -> str:
    """One row per response: what the reward saw and gave, with the example's ``note``."""
    rows = [_TABLE.format("#", "uid", "role", "refines", "format", "acc", "baseline", "bonus", "score", "case")]
    for index, record in enumerate(records, start=1):
        fmt = "-" if record["format_ok"] is None else ("ok" if record["format_ok"] else "bad")
        refines = record["num_refine"] if record["is_refine"] else "-"
        acc = "fail" if record["judge_failed"] else _cell(record["acc"])
        row = (index, record["uid"], record["role"], refines, fmt, acc, _cell(record["baseline"]))
        rows.append(_TABLE.format(*row, _cell(record["refine_bonus"]), _cell(record["score"]), record.get("note", "")))
    return "\n".join(rows)


def run_demo(args: argparse.Namespace, config: RewardConfig) -> Summary:
    """Score the bundled examples with the rule scorer and print the table: no GPU, no judge, no network."""
    records: list[dict[str, Any]] = []
    scorer = SampleScorer(config, ScorerMode.RULE)
    with as_file(files("recipe.pasr") / "demo" / "examples.jsonl") as path:
        summary = asyncio.run(_run(path, records.append, scorer, RunOptions()))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as sink:
            write = _jsonl_writer(sink)
            for record in records:
                write(record)
    print(demo_table(records))
    print(
        f"\nscore = format (+1 ok, -1 bad) + acc + bonus; a refining response's bonus: {config.refine_win:+g} if its "
        f"acc beats the baseline, {config.refine_loss:+g} if below, {config.refine_tie:+g} if equal.\n"
        + _BASELINE_LEGEND[config.baseline]
    )
    return summary


# --- command line ----------------------------------------------------------------------------------


# Command-line options that are RewardConfig fields of the same name.
_REWARD_OPTIONS = (
    "baseline",
    "missing_answer_acc",
    "judge_failure_policy",
    "judge_failure_max_rate",
    "judge_failure_min_count",
)


def _plain(default: object) -> object:
    """An enum default as the string a user would type, like the choices it is one of."""
    return default.value if isinstance(default, Enum) else default


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Score PASR responses (JSONL) with format, accuracy and refinement rewards.",
        epilog="Exit codes: 0 every line scored, 1 a judge failure under --judge-failure-policy raise, 2 bad usage "
        f"or input (the message names the line) or an empty input, {exit_codes.INCOMPLETE_HELP}.",
    )
    parser.add_argument(
        "--input", metavar="PATH", help="JSONL of responses, or a verl rollout dump (trainer.rollout_data_dir)"
    )
    parser.add_argument(
        "--output", metavar="PATH", help="JSONL to write: the input records plus reward fields, in input order"
    )
    parser.add_argument("--demo", action="store_true", help="score a small bundled example set and print a table")
    parser.add_argument(
        "--scorer",
        choices=[mode.value for mode in ScorerMode],
        default=DEFAULT_SCORER.value,
        help="auto: rule where one exists; fallback: also the judge where the rule finds no single answer",
    )
    parser.add_argument(
        "--baseline", choices=[mode.value for mode in BaselineMode], help="what refinement is compared to"
    )
    parser.add_argument(
        "--data-source", metavar="NAME", help="data source for records without one (verl rollout dumps)"
    )
    parser.add_argument(
        "--skip-invalid", action="store_true", help="skip and count malformed lines instead of stopping"
    )
    parser.add_argument("--missing-answer-acc", type=float, metavar="ACC", help="acc of a response with no answer")
    judge = parser.add_argument_group("judge (data sources without a rule scorer, or --scorer judge)")
    add_judge_arguments(judge)
    judge.add_argument(
        "--judge-target", choices=[target.value for target in JudgeTarget], default=DEFAULT_JUDGE_TARGET.value
    )
    judge.add_argument("--judge-failure-policy", choices=[policy.value for policy in JudgeFailurePolicy])
    judge.add_argument("--judge-failure-max-rate", type=float, metavar="RATE", help="stop above this failure rate")
    judge.add_argument(
        "--judge-failure-min-count", type=int, metavar="N", help="judged responses before the rate counts"
    )
    defaults = RewardConfig()  # the reward options' defaults are RewardConfig's own (one copy of each)
    parser.set_defaults(**{name: _plain(getattr(defaults, name)) for name in _REWARD_OPTIONS})
    return parser


def _judge_client(args: argparse.Namespace, parser: argparse.ArgumentParser) -> JudgeClient | None:
    if args.scorer == ScorerMode.RULE:
        return None
    if args.scorer in (ScorerMode.JUDGE, ScorerMode.FALLBACK) and not args.judge_url:
        parser.error(f"--scorer {args.scorer} needs --judge-url and --judge-model")
    try:
        return judge_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))


@exit_codes.quiet_broken_pipe
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = RewardConfig(**{name: getattr(args, name) for name in _REWARD_OPTIONS})
    except ValueError as exc:
        parser.error(str(exc))
    if args.demo:
        if args.input:
            parser.error("--demo scores the bundled examples; it takes no --input")
        print(run_demo(args, config).render(), file=sys.stderr)
        return 0
    if not args.input or not args.output:
        parser.error("--input and --output are required (or try --demo)")
    if not Path(args.input).is_file():
        parser.error(f"--input {args.input!r} is not a regular file (it is read twice, so a pipe cannot be)")
    scorer = SampleScorer(config, args.scorer, _judge_client(args, parser), args.judge_target)
    options = RunOptions(
        data_source=args.data_source,
        skip_invalid=args.skip_invalid,
        progress=sys.stderr.isatty(),
        max_in_flight=2 * args.judge_concurrency,  # keep the client's connection pool busy
    )
    try:
        summary = _score_to_file(args, scorer, options)
    except (InputError, ScorerSetupError, OSError) as exc:  # OSError: e.g. the output directory is missing
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except JudgeFailureError as exc:
        print(f"{PROG}: judge failure: {exc}", file=sys.stderr)
        return 1
    print(summary.render(), file=sys.stderr)
    return exit_codes.OK if summary.complete else exit_codes.INCOMPLETE


if __name__ == "__main__":
    sys.exit(main())
