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

"""Prepare PASR training data: WizardLM evol-instruct 70k → verl parquet (``train.parquet``, ``val.parquet``).

The paper trains on 40k (instruction, output) pairs from alpaca_evol_instruct_70k. Steps:

1. read the hub dataset (default) or a local json/jsonl/parquet with ``instruction`` and ``output``,
   and optionally Alpaca's ``input`` (the text the instruction works on). A non-empty ``input`` is
   joined to the instruction as ``instruction + "\n\n" + input`` to form the question (the prompt
   would otherwise lose it); an empty or null one is no input. Joined records are counted;
2. clean: drop empty instructions or outputs and repeated instructions (whitespace-normalised,
   first kept), and prompts whose PASR chat prompt exceeds ``--max-prompt-tokens`` with the
   model's tokenizer and chat-template options (verl measures prompts the same way);
3. select deterministically: shuffle the clean pool with ``--seed``; the first ``--val-size``
   prompts are validation, the next ``--num-prompts`` training. Validation does not move when
   ``--num-prompts`` changes, and a smaller training set is a prefix of a larger one;
4. write verl rows (``data_prep/verl_rows.py``) and ``summary.json`` accounting for every record.

Chat-template options are not stored in the rows: verl applies them at rollout time from
``data.apply_chat_template_kwargs``. They must match what was measured here; the summary records
them and prints the override to use.

Exit codes: 0 every record accounted for and the requested number of training prompts written; 1
and 2 errors (2: bad input, naming the record and field); 3 written, but incomplete: malformed records
skipped with ``--lenient``, or fewer training prompts than ``--num-prompts`` were left.

Usage: ``python data_prep/prepare_train.py --output-dir OUT --tokenizer Qwen/Qwen3-8B
--chat-template-kwargs '{"enable_thinking": true}'`` (or ``python -m recipe.pasr.data_prep.prepare_train``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from recipe.pasr import exit_codes
from recipe.pasr.chat_template import closed_think_warning, parse_chat_template_kwargs, prompt_token_ids, render_prompts
from recipe.pasr.data_prep.records import DropLog, RecordError, SourceRecord, dataset_records, read_records, require_str
from recipe.pasr.data_prep.verl_rows import make_row, write_parquet
from recipe.pasr.tasks import PromptStyle, pasr_messages

HUB_ID = "WizardLMTeam/WizardLM_evol_instruct_70k"
HUB_SPLIT = "train"
DATA_SOURCE = "alpaca_evol_instruct"
TOKEN_BATCH = 512


@dataclass(frozen=True, slots=True)
class Candidate:
    question: str
    output: str
    where: str


def load_hub(cache_dir: str | None = None) -> Iterator[SourceRecord]:
    """The training set from the Hugging Face hub (needs network access)."""
    import datasets

    rows = datasets.load_dataset(HUB_ID, split=HUB_SPLIT, cache_dir=cache_dir)
    return dataset_records(rows, f"{HUB_ID}[{HUB_SPLIT}]")


INPUT_SEPARATOR = "\n\n"


def alpaca_input(record: SourceRecord) -> str:
    """Alpaca's optional ``input`` field, stripped ('' when absent, null or blank)."""
    if record.data.get("input") is None:
        return ""
    return require_str(record, "input", allow_empty=True).strip()


def clean(records: Iterable[SourceRecord], log: DropLog) -> tuple[list[Candidate], int, int]:
    """Well-formed, non-empty, first-seen questions in input order, the number of records read, and how
    many questions had an Alpaca ``input`` joined to their instruction."""
    kept: list[Candidate] = []
    seen: set[str] = set()
    count = joined = 0
    for record in records:
        count += 1
        try:
            instruction = require_str(record, "instruction", allow_empty=True)
            output = require_str(record, "output", allow_empty=True)
            extra = alpaca_input(record)
        except RecordError as error:
            log.malformed(error)
            continue
        question = instruction.strip() + (INPUT_SEPARATOR + extra if extra else "")
        if not instruction.strip():
            log.drop("empty instruction", record.where)
        elif not output.strip():
            log.drop("empty output", record.where)
        elif (key := " ".join(question.split())) in seen:
            log.drop("duplicate instruction", record.where)
        else:
            seen.add(key)
            joined += bool(extra)
            kept.append(Candidate(question, output.strip(), record.where))
    return kept, count, joined


def prompt_lengths(
    questions: list[str], tokenizer: Any, chat_template_kwargs: Mapping[str, Any], style: PromptStyle
) -> list[int]:
    """Token count of each question's PASR generation prompt (system prompt and template included)."""
    lengths: list[int] = []
    for start in tqdm(range(0, len(questions), TOKEN_BATCH), desc="measuring prompts", unit="batch"):
        batch = [pasr_messages(q, style) for q in questions[start : start + TOKEN_BATCH]]
        ids = prompt_token_ids(tokenizer, render_prompts(tokenizer, batch, chat_template_kwargs))
        lengths.extend(len(item) for item in ids)
    return lengths


def within_budget(
    pool: list[Candidate],
    tokenizer: Any,
    chat_template_kwargs: Mapping[str, Any],
    max_tokens: int,
    log: DropLog,
    style: PromptStyle,
) -> list[Candidate]:
    lengths = prompt_lengths([c.question for c in pool], tokenizer, chat_template_kwargs, style)
    kept = []
    for candidate, length in zip(pool, lengths, strict=True):
        if length > max_tokens:
            log.drop(f"prompt over {max_tokens} tokens", candidate.where)
        else:
            kept.append(candidate)
    return kept


def split(pool: list[Candidate], num_prompts: int, val_size: int, seed: int) -> tuple[list[Candidate], list[Candidate]]:
    """Seeded shuffle; validation first (stable under ``num_prompts``), then training."""
    if len(pool) <= val_size:
        raise ValueError(f"only {len(pool)} prompts left after cleaning, not enough for {val_size} validation prompts")
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    val = [pool[i] for i in order[:val_size]]
    train = [pool[i] for i in order[val_size : val_size + num_prompts]]
    return train, val


def rows(candidates: list[Candidate], split_name: str, style: PromptStyle) -> list[dict[str, Any]]:
    return [
        make_row(DATA_SOURCE, c.question, c.output, split=split_name, index=index, source=c.where, prompt_style=style)
        for index, c in enumerate(candidates)
    ]


def template_warnings(tokenizer: Any, chat_template_kwargs: Mapping[str, Any]) -> list[str]:
    warning = closed_think_warning(render_prompts(tokenizer, [pasr_messages("?")], chat_template_kwargs)[0])
    return [warning] if warning else []


def hydra_override(chat_template_kwargs: Mapping[str, Any]) -> str:
    """The verl command-line override carrying the same template options (Hydra syntax, not JSON)."""

    def value(item: Any) -> str:
        if isinstance(item, Mapping):
            return "{" + ",".join(f"{key}:{value(inner)}" for key, inner in item.items()) + "}"
        return json.dumps(item)

    return f"data.apply_chat_template_kwargs={value(chat_template_kwargs)}"


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Everything but argument parsing; returns the summary (also written to ``summary.json``)."""
    if args.tokenizer is None and not args.no_token_filter:
        raise SystemExit(
            "error: --tokenizer is required to enforce the prompt token budget (an HF id or a local dir, "
            "the model you will train); pass --no-token-filter to skip the budget check deliberately"
        )
    warnings = []
    tokenizer = None
    if not args.no_token_filter:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
        warnings += template_warnings(tokenizer, args.chat_template_kwargs)
    log = DropLog(lenient=args.lenient)
    records = read_records(args.input) if args.input else load_hub(args.cache_dir)
    pool, records_in, inputs_joined = clean(tqdm(records, desc="reading", unit="rec"), log)
    if tokenizer is None:
        token_filter = "skipped (--no-token-filter)"
    else:
        pool = within_budget(pool, tokenizer, args.chat_template_kwargs, args.max_prompt_tokens, log, args.pasr_prompt)
        token_filter = f"{args.tokenizer}, max {args.max_prompt_tokens} tokens"
    train, val = split(pool, args.num_prompts, args.val_size, args.seed)
    if len(train) < args.num_prompts:
        warnings.append(f"{args.num_prompts} training prompts requested, only {len(train)} available after cleaning")
    output = Path(args.output_dir)
    write_parquet(rows(train, "train", args.pasr_prompt), output / "train.parquet")
    write_parquet(rows(val, "val", args.pasr_prompt), output / "val.parquet")
    summary = {
        "source": str(args.input) if args.input else f"hub:{HUB_ID}[{HUB_SPLIT}]",
        "records_in": records_in,
        "inputs_joined": inputs_joined,
        "dropped": log.as_dict(),
        "clean_pool": len(pool),
        "not_selected": len(pool) - len(train) - len(val),
        "train": len(train),
        "val": len(val),
        "num_prompts_requested": args.num_prompts,
        "seed": args.seed,
        "token_filter": token_filter,
        "chat_template_kwargs": args.chat_template_kwargs,
        "pasr_prompt": args.pasr_prompt.value,
        "verl_override": hydra_override(args.chat_template_kwargs),
        "warnings": warnings,
    }
    assert summary["records_in"] == log.total + len(pool), "record accounting does not add up"
    (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def report(summary: Mapping[str, Any]) -> str:
    lines = [
        f"source: {summary['source']}",
        f"records in: {summary['records_in']} ({summary['inputs_joined']} with an input joined to the instruction)",
        f"dropped: {summary['dropped']['total']}",
        *(f"  {reason}: {count}" for reason, count in summary["dropped"]["by_reason"].items()),
        f"clean pool: {summary['clean_pool']} (token filter: {summary['token_filter']})",
        f"written: train {summary['train']}, val {summary['val']}; not selected: {summary['not_selected']}",
    ]
    lines += [f"WARNING: {warning}" for warning in summary["warnings"]]
    if summary["chat_template_kwargs"]:
        lines.append(f"train with the same template options: '{summary['verl_override']}'")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Records may carry Alpaca's 'input': joined to the instruction after a blank line. Exit codes: "
        f"0 done, 2 bad input, {exit_codes.INCOMPLETE_HELP}: --lenient skipped records or fewer prompts than asked.",
    )
    parser.add_argument("--output-dir", required=True, help="writes train.parquet, val.parquet, summary.json")
    parser.add_argument("--input", help=f"local .json/.jsonl/.parquet with instruction/output (default: hub {HUB_ID})")
    parser.add_argument("--num-prompts", type=int, default=40_000, help="training prompts (paper: 40000)")
    parser.add_argument("--val-size", type=int, default=500, help="validation prompts, disjoint from training")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--tokenizer", help="HF id or local dir of the model to train; measures the prompt budget")
    parser.add_argument("--max-prompt-tokens", type=int, default=1024, help="keep in line with data.max_prompt_length")
    parser.add_argument(
        "--chat-template-kwargs",
        type=parse_chat_template_kwargs,
        default={},
        help="JSON, e.g. '{\"enable_thinking\": true}' for Qwen3 (PASR needs its thinking mode on)",
    )
    parser.add_argument(
        "--pasr-prompt",
        type=PromptStyle,
        choices=[style.value for style in PromptStyle],
        default=PromptStyle.PASR,
        help="pasr (ours) or paper (no 'do not refine for its own sake'; for +recipe=pasr_paper)",
    )
    parser.add_argument("--no-token-filter", action="store_true", help="do not measure prompts (no tokenizer)")
    parser.add_argument("--lenient", action="store_true", help="skip and count malformed records instead of failing")
    parser.add_argument("--cache-dir", help="Hugging Face datasets cache directory")
    return parser


@exit_codes.quiet_broken_pipe
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = run(args)
    except (RecordError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report(summary))
    if is_incomplete(summary):
        print("INCOMPLETE: see the warnings and malformed records above", file=sys.stderr)
        return exit_codes.INCOMPLETE
    return exit_codes.OK


def is_incomplete(summary: Mapping[str, Any]) -> bool:
    """Malformed records skipped (``--lenient``), or fewer training prompts than requested."""
    malformed = any(reason.startswith("malformed") for reason in summary["dropped"]["by_reason"])
    return malformed or summary["train"] < summary["num_prompts_requested"]


if __name__ == "__main__":
    sys.exit(main())
