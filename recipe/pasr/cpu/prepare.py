"""Build what the CPU smoke run trains on: the warm-started tiny model and GSM8K-style data.

``python -m recipe.pasr.cpu.prepare --dir DIR`` writes ``DIR/model`` (tokenizer, config, weights) and
``DIR/data/{train,val}.parquet`` (addition questions as ``gsm8k`` records, scored by the GSM8K rule, in
the recipe's data contract). It is idempotent: a finished build leaves ``DIR/prepared.json`` with its
settings, and a rerun with the same settings does nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from recipe.pasr.cpu.tiny_model import (
    addition_ground_truth,
    addition_question,
    addition_records,
    build_model_dir,
    warm_start,
)
from recipe.pasr.data_prep.verl_rows import make_row, write_parquet

MARKER = "prepared.json"


@dataclass(frozen=True)
class PrepareSettings:
    train_prompts: int = 256
    val_prompts: int = 16
    warm_start_steps: int = 300
    seed: int = 0


def prepare(directory: str | Path, settings: PrepareSettings = PrepareSettings()) -> dict:
    """Build model and data under ``directory`` unless a build with the same settings is there."""
    directory = Path(directory)
    marker = directory / MARKER
    if marker.exists():
        done = json.loads(marker.read_text())
        if done.get("settings") == asdict(settings):
            return done
    marker.unlink(missing_ok=True)  # a build with other settings, or an interrupted one: start over
    for stale in ("model", "data"):
        shutil.rmtree(directory / stale, ignore_errors=True)
    model_dir = build_model_dir(directory / "model", seed=settings.seed)
    warm = warm_start(model_dir, steps=settings.warm_start_steps, seed=settings.seed)
    for split, count, seed in (
        ("train", settings.train_prompts, settings.seed),
        ("val", settings.val_prompts, settings.seed + 1),
    ):
        rows = [
            make_row(
                "gsm8k",
                addition_question(left, right),
                addition_ground_truth(left, right),
                split=split,
                index=index,
                source=f"recipe.pasr.cpu.prepare seed={seed} row={index}",
            )
            for index, (left, right) in enumerate(addition_records(count, seed))
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
    args = parser.parse_args(argv)
    settings = PrepareSettings(args.train_prompts, args.val_prompts, args.warm_start_steps, args.seed)
    done = prepare(args.dir, settings)
    warm = done["warm_start"]
    print(
        f"tiny model and data ready in {args.dir}: warm start {warm['steps']:.0f} steps in {warm['seconds']:.0f} s, "
        f"loss {warm['loss_first']:.2f} -> {warm['loss_last']:.2f}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
