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

"""Prepare the paper's ten evaluation tasks as verl parquet: ``OUT/<task>.parquet``, one row per input record.

Two sources:

* ``--source paper --input-dir DIR``: the paper's exact subsets (``mmlu.json``, ``math.json``, the
  rest ``<task>.jsonl``), in the record shapes of PASR's release;
* ``--source hub``: the public datasets (ids and splits in :data:`SPECS`), first reshaped into the
  paper's record shapes, so both sources go through the same ground-truth code. Where the paper used
  a subset (MMLU, DROP, XSum) the hub source gives the whole split; GPQA Diamond is repeated four
  times with seeded option orders as in OpenAI's simple-evals (the paper's 792 = 198 x 4).

Ground truths take the form the scorers expect (``recipe.pasr.scoring.rules``): GSM8K the full
reference ending ``#### N``; MATH the bare LaTeX answer; AIME the ``\\boxed{N}`` string; option
letters for MMLU, ARC, GPQA and CommonsenseQA (checked against the options listed in the question);
``1``/``2`` for Winogrande; free text for DROP (alternatives kept in ``extra_info.ref_text``) and XSum.
ARC-Challenge records whose options are numbered ``1:``..``4:`` are relabelled ``A:``..``D:`` (question
and answer together, counted in the summary), because the choice scorer reads letters.

Every input record becomes one row; a malformed one stops the run with its file, line or index and
field, or with ``--lenient`` is skipped and counted in ``OUT/summary.json``. An input without any
record is an error (no empty parquet is written).

Exit codes: 0 every record written; 2 bad usage or input (naming task, file, line and field); 3 written,
but ``--lenient`` skipped records (counted in the summary).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recipe.pasr import exit_codes
from recipe.pasr.data_prep.records import DropLog, RecordError, SourceRecord, read_records, require_str
from recipe.pasr.data_prep.verl_rows import make_row, write_parquet
from recipe.pasr.scoring.rules import LETTER_LABELS as LETTERS
from recipe.pasr.scoring.rules import gsm8k_reference, last_boxed, options_from_question

# --- ground truths (paper-shaped record → question, ground truth) ----------------------------------


def _choice(question: str, answer: str) -> tuple[str, str]:
    letter = answer.strip()
    if len(letter) != 1 or letter not in LETTERS:
        raise ValueError(f"expected an option letter A-E, got {answer!r}")
    listed = options_from_question(question)
    if letter not in listed:
        raise ValueError(
            f"answer {letter} is not among the options listed in the question ({''.join(listed) or 'none'})"
        )
    return question, letter


_NUMBERED_OPTION = re.compile(r"^([1-5]): ", re.MULTILINE)


def _arc(question: str, answer: str) -> tuple[str, str]:
    """ARC uses numbers as option labels for a few questions; relabel them as letters."""
    number = answer.strip()
    if number in ("1", "2", "3", "4", "5"):
        labels = _NUMBERED_OPTION.findall(question)
        if labels != [str(i) for i in range(1, len(labels) + 1)] or number not in labels:
            raise ValueError(f"numeric answer {answer!r} but the question's options are not numbered 1..n")
        question = _NUMBERED_OPTION.sub(lambda m: f"{LETTERS[int(m.group(1)) - 1]}: ", question)
        answer = LETTERS[int(number) - 1]
    return _choice(question, answer)


def _winogrande(question: str, answer: str) -> tuple[str, str]:
    if answer.strip() not in ("1", "2"):
        raise ValueError(f"expected '1' or '2', got {answer!r}")
    if "Option1:" not in question or "Option2:" not in question:
        raise ValueError("question does not list Option1: and Option2:")
    return question, answer.strip()


def _gsm8k(question: str, answer: str) -> tuple[str, str]:
    final = gsm8k_reference(answer)
    if "####" not in answer or not re.fullmatch(r"-?[\d,]*\.?\d+", final):
        raise ValueError(f"expected a reference ending in '#### <number>', got ...{answer[-40:]!r}")
    return question, answer.strip()


def _boxed(question: str, answer: str) -> tuple[str, str]:
    if not last_boxed(answer):
        raise ValueError(f"expected a \\boxed{{...}} answer, got {answer[:60]!r}")
    return question, answer.strip()


def _text(question: str, answer: str) -> tuple[str, str]:
    return question, answer.strip()


# --- hub records → paper-shaped records ------------------------------------------------------------


def _lettered(question: str, texts: Sequence[str], sep: str) -> str:
    return question + "".join(f"\n{LETTERS[i]}{sep}{text}" for i, text in enumerate(texts))


def _hub_mmlu(row: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    return {"Question": _lettered(row["question"], row["choices"], ". "), "Ground_truth": LETTERS[row["answer"]]}


def _hub_labelled(row: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    """ARC and CommonsenseQA: ``choices = {label: [...], text: [...]}``, ``answerKey``."""
    choices = row["choices"]
    options = "".join(f"\n{label}: {text}" for label, text in zip(choices["label"], choices["text"], strict=True))
    return {"question": row["question"] + options, "answer": row["answerKey"]}


def _hub_drop(row: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    """The hub keeps one answer per question (a multi-span answer lists all its parts); no alternatives."""
    return {
        "question": f"{row['passage']}\nHere is the question: {row['question']}",
        "answer": ", ".join(row["answers_spans"]["spans"]),
    }


def _hub_xsum(row: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    return {"id": row["id"], "question": row["document"], "answer": row["summary"]}


def _hub_gsm8k(row: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    return {"question": row["question"], "answer": row["answer"]}


def _hub_math(row: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    return {"question": row["problem"], "solution": row["solution"], "answer": row["answer"]}


def _hub_aime(row: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    return {"id": row["id"], "problem": row["problem"], "solution": f"\\boxed{{{row['answer']}}}"}


_GPQA_TEMPLATE = (
    "Answer the following multiple choice question. The last line of your response should be of the following "
    "format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD. Think step by step before answering."
    "\n\n{question}\n\nA) {A}\nB) {B}\nC) {C}\nD) {D}"
)


def _hub_gpqa(row: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    permutation = rng.sample(range(4), 4)  # drawn first, so a malformed row does not shift later orders
    correct = row["Correct Answer"]
    choices = [correct, row["Incorrect Answer 1"], row["Incorrect Answer 2"], row["Incorrect Answer 3"]]
    choices = [choices[i] for i in permutation]
    question = _GPQA_TEMPLATE.format(question=row["Question"], **dict(zip("ABCD", choices, strict=True)))
    return {"question": question.strip(), "answer": LETTERS[choices.index(correct)]}


def _hub_winogrande(row: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    return {
        "question": f"{row['sentence']}\nOption1: {row['option1']}\nOption2: {row['option2']}",
        "answer": row["answer"],
    }


# --- task table ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HubSource:
    path: str
    name: str | None
    split: str
    to_paper: Callable[[Mapping[str, Any], random.Random], dict[str, Any]]
    repeats: int = 1

    @property
    def label(self) -> str:
        return f"{self.path}[{self.name + '/' if self.name else ''}{self.split}]"


@dataclass(frozen=True, slots=True)
class EvalSpec:
    name: str
    paper_file: str
    question_key: str
    answer_key: str
    ground_truth: Callable[[str, str], tuple[str, str]]
    hub: HubSource


SPECS: dict[str, EvalSpec] = {
    spec.name: spec
    for spec in (
        EvalSpec(
            "mmlu", "mmlu.json", "Question", "Ground_truth", _choice, HubSource("cais/mmlu", "all", "test", _hub_mmlu)
        ),
        EvalSpec(
            "drop", "drop.jsonl", "question", "answer", _text, HubSource("ucinlp/drop", None, "validation", _hub_drop)
        ),
        EvalSpec(
            "xsum", "xsum.jsonl", "question", "answer", _text, HubSource("EdinburghNLP/xsum", None, "test", _hub_xsum)
        ),
        EvalSpec(
            "gsm8k", "gsm8k.jsonl", "question", "answer", _gsm8k, HubSource("openai/gsm8k", "main", "test", _hub_gsm8k)
        ),
        EvalSpec(
            "math",
            "math.json",
            "question",
            "answer",
            _text,
            HubSource("HuggingFaceH4/MATH-500", None, "test", _hub_math),
        ),
        EvalSpec(
            "aime24",
            "aime24.jsonl",
            "problem",
            "solution",
            _boxed,
            HubSource("HuggingFaceH4/aime_2024", None, "train", _hub_aime),
        ),
        EvalSpec(
            "arc_challenge",
            "arc_challenge.jsonl",
            "question",
            "answer",
            _arc,
            HubSource("allenai/ai2_arc", "ARC-Challenge", "validation", _hub_labelled),
        ),
        EvalSpec(
            "gpqa",
            "gpqa.jsonl",
            "question",
            "answer",
            _choice,
            HubSource("Idavidrein/gpqa", "gpqa_diamond", "train", _hub_gpqa, 4),
        ),
        EvalSpec(
            "winogrande",
            "winogrande.jsonl",
            "question",
            "answer",
            _winogrande,
            HubSource("allenai/winogrande", "winogrande_xl", "validation", _hub_winogrande),
        ),
        EvalSpec(
            "commonsenseqa",
            "commonsenseqa.jsonl",
            "question",
            "answer",
            _choice,
            HubSource("tau/commonsense_qa", None, "validation", _hub_labelled),
        ),
    )
}


# --- conversion ------------------------------------------------------------------------------------


def load_hub(source: HubSource, cache_dir: str | None = None) -> Any:
    """The raw hub split (network; GPQA is gated: accept its terms and set ``HF_TOKEN``)."""
    import datasets

    return datasets.load_dataset(source.path, source.name, split=source.split, cache_dir=cache_dir)


def hub_records(source: HubSource, rows: Iterable[Mapping[str, Any]]) -> Iterator[SourceRecord]:
    """Hub rows reshaped into paper records (``repeats`` passes, one seeded RNG, as simple-evals does)."""
    rows = list(rows)
    rng = random.Random(0)
    for repeat in range(source.repeats):
        for i, row in enumerate(rows):
            where = f"{source.label} row {i}" + (f" (repeat {repeat})" if source.repeats > 1 else "")
            position = repeat * len(rows) + i
            try:
                yield SourceRecord(where, source.to_paper(row, rng), position)
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                yield SourceRecord(where, {}, position, f"hub record not in the expected shape ({exc!r})")


@dataclass
class Conversion:
    rows: list[dict[str, Any]]
    records_in: int
    relabelled: int
    dropped: DropLog


def convert(spec: EvalSpec, records: Iterable[SourceRecord], lenient: bool = False) -> Conversion:
    """One verl row per paper-shaped record (or a counted drop with ``lenient``)."""
    log = DropLog(lenient=lenient)
    rows: list[dict[str, Any]] = []
    records_in = relabelled = 0
    for record in records:
        records_in += 1
        try:
            question = require_str(record, spec.question_key)
            answer = require_str(record, spec.answer_key)
            ref_text = require_str(record, "ref_text") if "ref_text" in record.data else None
            try:
                new_question, ground_truth = spec.ground_truth(question, answer)
            except ValueError as exc:
                raise RecordError(record.where, spec.answer_key, str(exc)) from None
        except RecordError as error:
            log.malformed(error)
            continue
        relabelled += new_question != question
        rows.append(
            make_row(
                spec.name,
                new_question,
                ground_truth,
                split="test",
                index=record.position,
                source=record.where,
                ref_text=ref_text,
            )
        )
    if records_in == 0:
        raise ValueError(f"{spec.name}: the input holds no records")
    if records_in != len(rows) + log.total:
        raise RuntimeError(f"{spec.name}: {records_in} records in, {len(rows)} written, {log.total} dropped")
    return Conversion(rows, records_in, relabelled, log)


def prepare_task(
    spec: EvalSpec, output_dir: Path, *, input_dir: Path | None, cache_dir: str | None, lenient: bool
) -> dict[str, Any]:
    """Convert and write one task; returns its summary entry."""
    if input_dir is not None:
        path = input_dir / spec.paper_file
        conversion = convert(spec, read_records(path), lenient)
        source = f"paper:{path}"
    else:
        conversion = convert(spec, hub_records(spec.hub, load_hub(spec.hub, cache_dir)), lenient)
        source = f"hub:{spec.hub.label}" + (f" x{spec.hub.repeats}" if spec.hub.repeats > 1 else "")
    write_parquet(conversion.rows, output_dir / f"{spec.name}.parquet")
    return {
        "source": source,
        "records_in": conversion.records_in,
        "written": len(conversion.rows),
        "dropped": conversion.dropped.as_dict(),
        "options_relabelled": conversion.relabelled,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=f"Exit codes: 0 every record written, 2 bad usage or input, {exit_codes.INCOMPLETE_HELP}: --lenient "
        "skipped records.",
    )
    parser.add_argument("--output-dir", required=True, help="writes <task>.parquet and summary.json")
    parser.add_argument("--source", choices=("hub", "paper"), help="default: paper with --input-dir, else hub")
    parser.add_argument("--input-dir", type=Path, help="directory of the paper's subsets (mmlu.json, gsm8k.jsonl, ...)")
    parser.add_argument("--tasks", nargs="+", choices=list(SPECS), default=list(SPECS), metavar="TASK")
    parser.add_argument("--lenient", action="store_true", help="skip and count malformed records instead of failing")
    parser.add_argument("--cache-dir", help="Hugging Face datasets cache directory")
    return parser


@exit_codes.quiet_broken_pipe
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    source = args.source or ("paper" if args.input_dir else "hub")
    if source == "paper" and args.input_dir is None:
        parser.error("--source paper needs --input-dir")
    if source == "hub" and args.input_dir is not None:
        parser.error("--input-dir is only read with --source paper")
    if source == "paper":
        missing = [SPECS[t].paper_file for t in args.tasks if not (args.input_dir / SPECS[t].paper_file).is_file()]
        if missing:
            parser.error(f"{args.input_dir} lacks {', '.join(missing)}")
    output_dir = Path(args.output_dir)
    summary_path = output_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    skipped = 0
    for name in args.tasks:
        try:
            summary[name] = entry = prepare_task(
                SPECS[name], output_dir, input_dir=args.input_dir, cache_dir=args.cache_dir, lenient=args.lenient
            )
        except (RecordError, ValueError) as error:
            print(f"error: {name}: {error}", file=sys.stderr)
            return 2
        dropped = entry["dropped"]["total"]
        skipped += dropped
        note = f", dropped {dropped}: {entry['dropped']['by_reason']}" if dropped else ""
        relabel = f", options relabelled {entry['options_relabelled']}" if entry["options_relabelled"] else ""
        print(f"{name}: {entry['records_in']} in → {entry['written']} rows ({entry['source']}){note}{relabel}")
        summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    if skipped:
        print(f"INCOMPLETE: {skipped} malformed record(s) skipped (--lenient); see {summary_path}", file=sys.stderr)
        return exit_codes.INCOMPLETE
    return exit_codes.OK


if __name__ == "__main__":
    sys.exit(main())
