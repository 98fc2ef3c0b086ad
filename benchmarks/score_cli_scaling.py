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

"""Scaling of the offline scoring CLI (``python -m recipe.pasr.tools.score``) with the number of responses.

Writes realistic synthetic input to a temp dir (rule-scored gsm8k and mmlu prompts in adjacent groups
of 8; valid, invalid and refining responses of ~6 KB, about 1500 tokens, each), runs the CLI on it as
a fresh subprocess per run and measures wall time and the child's peak RSS (``os.wait4``: the
rusage of that one child). Each size runs ``--repeats`` times and keeps the fastest wall time (other
processes on a shared machine only ever slow a run down) and the highest peak RSS. The CLI streams,
so time should grow linearly and memory stay flat:

    cli_time_ratio_100k_vs_10k       target <= 11
    cli_peak_rss_ratio_100k_vs_10k   target <= 1.3

Usage: ``python benchmarks/score_cli_scaling.py [--sizes 10000,100000] [--quick] [--repeats 3]``.
The output ends with ``name=value`` lines, named after the smallest and largest size; CPU seconds
(user + sys) are printed too, as a cross-check that does not depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GROUP_SIZE = 8
TARGET_CHARS = 6000  # ~1500 tokens
DEFAULT_SIZES = (10_000, 100_000)
QUICK_SIZES = (2_000, 20_000)

_STEPS = (
    "First I restate what is given: {a} items at {b} each, and the question asks for the total after {c} more.",
    "Multiplying {a} by {b} gives {p}, which is the cost before anything else is added to it.",
    "Let me check the units: the answer should be a count, so a fractional value like {a}.5 would be a red flag.",
    "Option {letter} mentions {a} percent, which does not match the passage, so I set it aside for now.",
    "Adding {c} to {p} gives {s}; I keep that as the running total for the next step of the problem.",
    "The passage says the quantity doubled between year {a} and year {b}, so the ratio must be exactly two.",
    "Comparing the remaining options, {letter} is the only one consistent with every constraint listed above.",
    "If I subtract {b} from {s} I get back {d}, which confirms the previous addition was done correctly.",
)
_REFINES = (
    "Wait, I multiplied by {b} where the problem says {c}; redoing it: the product is {p} instead.",
    "I skipped the discount of {a} percent; applying it changes the running total to {s}.",
    "Option {letter} was dismissed too quickly: the passage supports it in the second paragraph.",
)


def _fill(template: str, rng: random.Random) -> str:
    a, b, c = rng.randint(2, 99), rng.randint(2, 99), rng.randint(2, 99)
    return template.format(a=a, b=b, c=c, p=a * b, s=a * b + c, d=a * b + c - b, letter=rng.choice("ABCD"))


def _reasoning(rng: random.Random, pool: list[str], chars: int) -> str:
    sentences = rng.choices(pool, k=chars // 100 + 1)  # pool sentences average ~100 chars
    return " ".join(sentences)[:chars]


def _response(rng: random.Random, pool: list[str], refines: list[str], answer: str, wrong: str) -> str:
    """A mix of what a policy writes: mostly valid, some refining, some broken."""
    kind = rng.choices(
        ("plain", "plain_wrong", "refine", "refine_wrong", "no_answer", "trailing", "unclosed"),
        weights=(30, 15, 25, 10, 8, 6, 6),
    )[0]
    half = TARGET_CHARS // 2 - 60
    head, tail = _reasoning(rng, pool, half), _reasoning(rng, pool, half)
    if kind == "plain":
        return f"<think>{head} {tail}</think>\n<answer>{answer}</answer>"
    if kind == "plain_wrong":
        return f"<think>{head} {tail}</think>\n<answer>{wrong}</answer>"
    refine = " ".join(f"<refine>{rng.choice(refines)}</refine>" for _ in range(rng.randint(1, 3)))
    if kind in ("refine", "refine_wrong"):
        final = answer if kind == "refine" else wrong
        return f"<think>{head} {refine} {tail}</think>\n<answer>{final}</answer>"
    if kind == "no_answer":
        return f"<think>{head} {tail}</think>\nSo the answer is {answer}."
    if kind == "trailing":
        return f"<think>{head} {tail}</think>\n<answer>{answer}</answer>\nLet me know if this helps."
    return f"<think>{head} <refine>{rng.choice(refines)} {tail}</think>\n<answer>{answer}</answer>"


def write_input(path: Path, size: int, seed: int = 0) -> None:
    """``size`` responses in adjacent groups of GROUP_SIZE, alternating gsm8k and mmlu prompts."""
    rng = random.Random(seed)
    pool = [_fill(step, rng) for step in _STEPS for _ in range(25)]
    refines = [_fill(text, rng) for text in _REFINES for _ in range(25)]
    with path.open("w", encoding="utf-8") as out:
        for index in range(size):
            group = index // GROUP_SIZE
            if index % GROUP_SIZE == 0:
                if group % 2:
                    options = "\n".join(f"{letter}. {_fill(rng.choice(_STEPS), rng)[:60]}" for letter in "ABCD")
                    data_source, answer = "mmlu", rng.choice("ABCD")
                    question, reference = f"{_reasoning(rng, pool, 300)}\n{options}", answer
                    wrong = rng.choice([letter for letter in "ABCD" if letter != answer])
                else:
                    value = rng.randint(10, 9999)
                    data_source, answer, wrong = "gsm8k", str(value), str(value + rng.randint(1, 50))
                    question, reference = _reasoning(rng, pool, 300), f"{_reasoning(rng, pool, 200)}\n#### {value}"
            record = {
                "uid": f"prompt-{group}",
                "data_source": data_source,
                "question": question,
                "ground_truth": reference,
                "response": _response(rng, pool, refines, answer, wrong),
            }
            out.write(json.dumps(record) + "\n")


def run_cli(input_path: Path, output_path: Path, log_path: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one CLI run in a fresh child process."""
    command = [
        sys.executable,
        "-m",
        "recipe.pasr.tools.score",
        "--input",
        str(input_path),
        "--output",
        str(output_path),
    ]
    with log_path.open("w") as log:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"CLI failed ({child.returncode}):\n{log_path.read_text()}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # Linux reports KiB


def _label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help=f"comma-separated response counts (default {DEFAULT_SIZES})")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    parser.add_argument("--repeats", type=int, default=3, help="runs per size (fastest wall time is kept)")
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes.split(",")) if args.sizes else None
    sizes = sizes or list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if len(sizes) < 2:
        parser.error("--sizes needs at least two sizes")
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")

    results: dict[int, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="pasr-score-bench-") as tmp:
        for size in sizes:
            input_path, output_path = Path(tmp, f"in-{size}.jsonl"), Path(tmp, f"out-{size}.jsonl")
            start = time.perf_counter()
            write_input(input_path, size)
            made = time.perf_counter() - start
            mb = input_path.stat().st_size / 2**20
            runs = [run_cli(input_path, output_path, Path(tmp, f"log-{size}.txt")) for _ in range(args.repeats)]
            with output_path.open("rb") as out:
                lines = sum(1 for _ in out)
            if lines != size:
                raise SystemExit(f"CLI wrote {lines} lines for {size} responses")
            seconds, cpu = min(run[0] for run in runs), min(run[1] for run in runs)
            rss = max(run[2] for run in runs)
            results[size] = (seconds, cpu, rss)
            print(
                f"{size:>8} responses ({mb:,.0f} MB, made in {made:.1f}s): {seconds:7.2f} s "
                f"({cpu:.2f} s CPU), {size / seconds:8,.0f} responses/s, peak RSS {rss:6.1f} MB",
                flush=True,
            )
            input_path.unlink()
            output_path.unlink()

    small, large = sizes[0], sizes[-1]
    names = f"{_label(large)}_vs_{_label(small)}"
    for size in sizes:
        seconds, cpu, rss = results[size]
        print(f"cli_seconds_{_label(size)}={seconds:.3f}")
        print(f"cli_cpu_seconds_{_label(size)}={cpu:.3f}")
        print(f"cli_peak_rss_mb_{_label(size)}={rss:.1f}")
    print(f"cli_cpu_time_ratio_{names}={results[large][1] / results[small][1]:.3f}")
    print(f"cli_time_ratio_{names}={results[large][0] / results[small][0]:.3f}")
    print(f"cli_peak_rss_ratio_{names}={results[large][2] / results[small][2]:.3f}")


if __name__ == "__main__":
    main()
