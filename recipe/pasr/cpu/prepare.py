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

"""Build what the CPU trainer trains on: the warm-started tiny model and GSM8K-style data.

``python -m recipe.pasr.cpu.prepare --dir DIR`` writes ``DIR/model`` (tokenizer, config, weights) and
``DIR/data/{train,val}.parquet`` (``gsm8k`` records, scored by the GSM8K rule, in the recipe's data
contract) for one of two tasks: ``addition`` (the smoke run's) or ``refine_decision``
(:mod:`recipe.pasr.cpu.refine_task`, the learning benchmark's). It is idempotent: a finished build leaves
``DIR/prepared.json`` with its settings, and a rerun with the same settings does nothing; with
``--keep-existing`` (the smoke script's) a finished build of any settings is kept.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from recipe.pasr.cpu import refine_task
from recipe.pasr.cpu.tiny_model import (
    ADDITION_WARM_START_LR,
    Example,
    TinyLlamaSize,
    addition_example,
    addition_ground_truth,
    addition_question,
    addition_records,
    build_tokenizer,
    default_vocabulary,
    warm_start,
    write_model,
)
from recipe.pasr.data_prep.verl_rows import make_row, write_parquet

MARKER = "prepared.json"


@dataclass(frozen=True)
class Task:
    """What a build trains on: the tokenizer's words, warm-start examples, (question, reference) records."""

    vocabulary: Callable[[], list[str]]
    example: Example
    records: Callable[[int, int], Sequence[tuple[str, str]]]
    warm_start_lr: float


def _addition_records(count: int, seed: int) -> list[tuple[str, str]]:
    return [(addition_question(a, b), addition_ground_truth(a, b)) for a, b in addition_records(count, seed)]


TASKS = {
    "addition": Task(default_vocabulary, addition_example, _addition_records, ADDITION_WARM_START_LR),
    "refine_decision": Task(
        refine_task.vocabulary, refine_task.synthetic_example, refine_task.records, refine_task.WARM_START_LR
    ),
}


@dataclass(frozen=True)
class PrepareSettings:
    train_prompts: int = 256
    val_prompts: int = 16
    warm_start_steps: int = 300
    seed: int = 0
    task: str = "addition"

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}: choose one of {', '.join(TASKS)}")


def prepare(
    directory: str | Path, settings: PrepareSettings = PrepareSettings(), *, keep_existing: bool = False
) -> dict:
    """Build model and data under ``directory`` unless a build with the same settings (with
    ``keep_existing``: any finished build) is there."""
    directory = Path(directory)
    marker = directory / MARKER
    if marker.exists():
        done = json.loads(marker.read_text())
        if keep_existing or done.get("settings") == asdict(settings):
            return done
    marker.unlink(missing_ok=True)  # a build with other settings, or an interrupted one: start over
    for stale in ("model", "data"):
        shutil.rmtree(directory / stale, ignore_errors=True)
    task = TASKS[settings.task]
    model_dir = directory / "model"
    write_model(model_dir, build_tokenizer(model_dir, task.vocabulary()), TinyLlamaSize(), seed=settings.seed)
    warm = warm_start(
        model_dir, steps=settings.warm_start_steps, lr=task.warm_start_lr, seed=settings.seed, examples=task.example
    )
    for split, count, seed in (
        ("train", settings.train_prompts, settings.seed),
        ("val", settings.val_prompts, settings.seed + 1),
    ):
        rows = [
            make_row(
                "gsm8k",
                question,
                reference,
                split=split,
                index=index,
                source=f"recipe.pasr.cpu.prepare task={settings.task} seed={seed} row={index}",
            )
            for index, (question, reference) in enumerate(task.records(count, seed))
        ]
        write_parquet(rows, directory / "data" / f"{split}.parquet")
    done = {"settings": asdict(settings), "warm_start": warm}
    marker.write_text(json.dumps(done, indent=2))
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="where model/ and data/ are written")
    defaults = PrepareSettings()
    parser.add_argument("--train-prompts", type=int, default=defaults.train_prompts)
    parser.add_argument("--val-prompts", type=int, default=defaults.val_prompts)
    parser.add_argument("--warm-start-steps", type=int, default=defaults.warm_start_steps)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--task", choices=sorted(TASKS), default=defaults.task)
    parser.add_argument("--keep-existing", action="store_true", help="keep a finished build of any settings")
    args = parser.parse_args(argv)
    settings = PrepareSettings(args.train_prompts, args.val_prompts, args.warm_start_steps, args.seed, args.task)
    done = prepare(args.dir, settings, keep_existing=args.keep_existing)
    warm = done["warm_start"]
    print(
        f"tiny model and data ready in {args.dir}: warm start {warm['steps']:.0f} steps in {warm['seconds']:.0f} s, "
        f"loss {warm['loss_first']:.2f} -> {warm['loss_last']:.2f}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
