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

"""Judge client throughput against a fixed-latency OpenAI-compatible fake judge on 127.0.0.1.

``python benchmarks/judge_throughput.py`` starts the fake judge (answers ``"1"`` after ``--latency-ms``,
default 50 ms) in a separate process, so that it has its own core and GIL, then scores the same
``--num`` (default 512) judged responses of realistic size (~6 KB request bodies):

1. one request at a time, as the reference implementation did (measured directly, never extrapolated);
2. with :class:`recipe.pasr.scoring.judge.JudgeClient` at its default concurrency (median of
   ``--repeats`` runs after a warm-up wave that opens the keep-alive connections);
3. a sweep over ``max_concurrency`` showing where throughput saturates (one run per point).

The output ends with ``name=value`` lines, one per figure; the two headline figures are
``judge_speedup_vs_sequential`` and ``judge_efficiency_vs_bound`` (achieved requests/s divided by the
latency bound ``concurrency / latency``). ``--check`` exits 1 if they miss the targets (speedup >= 30,
efficiency >= 0.8 at concurrency 64 and 50 ms). ``--quick`` is a seconds-long smoke run for CI.

Where the OS allows it, the client process is pinned to one CPU and the fake judge to the others
(``--no-pin`` to disable), and each timed run starts after ``gc.collect()``: both cut run-to-run spread
on a small shared machine. Figures still move by a few percent with other load on the machine; the
first comment line prints the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import itertools
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout, without installing the project
    sys.path.insert(0, str(ROOT))

from recipe.pasr.scoring.judge import JudgeClient, JudgeConfig, build_judge_messages  # noqa: E402
from recipe.pasr.tasks import TaskType  # noqa: E402
from tests.fakes.judge_server import serve_in_process  # noqa: E402

DEFAULT_CONCURRENCY: int = next(f.default for f in dataclasses.fields(JudgeConfig) if f.name == "max_concurrency")
TARGET_SPEEDUP = 30.0
TARGET_EFFICIENCY = 0.8
_VOCABULARY = (
    "the of and to in is that for it as was with be by on not he this are or his from at which but have an they "
    "you were her she there been one all we their has would when if so no will more can said who its about time "
    "model answer reason value step result because therefore number total first second each other than then"
)
_WORDS = tuple(_VOCABULARY.split())

Item = tuple[TaskType, str, str, str]


def _text(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(_WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)[:chars]


def make_items(num: int, seed: int = 0) -> list[Item]:
    """``num`` distinct (task_type, question, reference, answer) of ~1.8 KB each (~6 KB per request)."""
    rng = random.Random(seed)
    kinds = (TaskType.GENERAL, TaskType.MULTIPLE_CHOICE, TaskType.SUMMARY)
    return [(kinds[i % 3], _text(rng, 1800), _text(rng, 1800), _text(rng, 1800)) for i in range(num)]


def request_bytes(item: Item, config: JudgeConfig) -> int:
    import json

    body = {"model": config.model, "temperature": config.temperature, "max_tokens": config.max_tokens}
    body["messages"] = build_judge_messages(*item, max_answer_chars=config.max_answer_chars)  # type: ignore[assignment]
    return len(json.dumps(body, ensure_ascii=False).encode())


async def _score_all(client: JudgeClient, items: list[Item], sequential: bool) -> float:
    """Score every item; returns wall seconds. Raises if any verdict is not the fake judge's 1."""
    t0 = time.perf_counter()
    if sequential:
        verdicts = [await client.score(task_type=t, question=q, reference=r, answer=a) for t, q, r, a in items]
    else:
        verdicts = await asyncio.gather(
            *(client.score(task_type=t, question=q, reference=r, answer=a) for t, q, r, a in items)
        )
    elapsed = time.perf_counter() - t0
    bad = [v for v in verdicts if v.failed or v.score != 1.0]
    if bad:
        raise RuntimeError(f"{len(bad)} of {len(items)} verdicts failed; first: {bad[0]}")
    return elapsed


@dataclasses.dataclass
class Run:
    concurrency: int
    num: int
    seconds: float  # median over the repeats
    cpu_us_per_request: float  # client process CPU time per request, of the median run
    spread: tuple[float, float] = (0.0, 0.0)  # fastest and slowest repeat, seconds

    @property
    def rps(self) -> float:
        return self.num / self.seconds


async def measure(
    url: str, items: list[Item], concurrency: int, repeats: int, sequential: bool = False, warmup: bool = True
) -> Run:
    """Median-of-``repeats`` wall time for scoring ``items`` with one client (fresh per call)."""
    # The repeats send the same items again: deduplication off, every score() is a real request.
    config = JudgeConfig(url=url, model="fake-judge", max_concurrency=concurrency, api_key_env=None, deduplicate=False)
    async with JudgeClient(config) as client:
        if warmup:  # open the keep-alive pool first: a trainer's client is long-lived
            await _score_all(client, items[: 1 if sequential else concurrency], sequential)
        runs = []
        for _ in range(repeats):
            gc.collect()  # start each run without the previous run's garbage (timeit goes further: gc off)
            cpu0 = time.process_time()
            seconds = await _score_all(client, items, sequential)
            runs.append((seconds, (time.process_time() - cpu0) / len(items) * 1e6))
        runs.sort()
        seconds, cpu = runs[len(runs) // 2]
        return Run(concurrency, len(items), seconds, cpu, (runs[0][0], runs[-1][0]))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=None, help="judged responses per run (default 512; quick: 64)")
    parser.add_argument("--latency-ms", type=float, default=None, help="fake judge latency (default 50; quick: 20)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="headline concurrency")
    parser.add_argument("--repeats", type=int, default=None, help="concurrent runs, median taken (default 5)")
    parser.add_argument("--sweep", default=None, help="comma-separated concurrencies (default 1,2,4,...,1024)")
    parser.add_argument("--sweep-min", type=int, default=None, help="min requests per sweep point (default 64)")
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke run (CI)")
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false", help="do not pin client and fake judge to separate CPUs"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    quick = {"num": 64, "latency_ms": 20.0, "repeats": 1, "sweep": "1,16,64", "sweep_min": 32}
    full = {"num": 512, "latency_ms": 50.0, "repeats": 5, "sweep": "1,2,4,8,16,32,64,128,256,512,1024", "sweep_min": 64}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.sweep = [int(c) for c in str(args.sweep).split(",") if c.strip()]
    if args.num < 1 or args.latency_ms <= 0 or args.repeats < 1 or args.concurrency < 1 or min(args.sweep) < 1:
        parser.error("--num, --latency-ms, --repeats, --concurrency and --sweep values must be positive")
    return args


async def run_benchmark(url: str, args: argparse.Namespace) -> dict[str, float]:
    latency_s = args.latency_ms / 1000
    items = make_items(max(args.num, args.sweep_min, 8 * max(args.sweep)))
    main_items = items[: args.num]

    print(f"# sequential: {args.num} requests one at a time", flush=True)
    seq = await measure(url, main_items, 1, repeats=1, sequential=True)
    print(f"#   {seq.seconds:.2f} s, {seq.rps:.1f} req/s ({seq.seconds / seq.num * 1000:.1f} ms per request)")

    print(f"# concurrent: {args.num} requests, max_concurrency={args.concurrency}, median of {args.repeats}")
    conc = await measure(url, main_items, args.concurrency, repeats=args.repeats)
    bound = args.concurrency / latency_s
    fastest, slowest = (args.num / t / bound for t in conc.spread)
    print(
        f"#   {conc.seconds:.3f} s, {conc.rps:.0f} req/s (bound {bound:.0f}), "
        f"client CPU {conc.cpu_us_per_request:.0f} us/req; efficiency over the repeats {slowest:.2f}..{fastest:.2f}"
    )

    print("# sweep (one run per point, after a warm-up wave)")
    print(f"# {'concurrency':>11} {'requests':>8} {'seconds':>8} {'req/s':>8} {'bound':>8} {'eff':>5} {'cpu_us':>6}")
    sweep: list[Run] = []
    for c in args.sweep:
        n = max(args.sweep_min, 8 * c)
        run = await measure(url, items[:n], c, repeats=1)
        sweep.append(run)
        eff = run.rps / (c / latency_s)
        print(
            f"# {c:>11} {n:>8} {run.seconds:>8.3f} {run.rps:>8.0f} {c / latency_s:>8.0f} {eff:>5.2f} "
            f"{run.cpu_us_per_request:>6.0f}",
            flush=True,
        )
    peak = max(sweep, key=lambda r: r.rps)
    ordered = sorted(sweep, key=lambda r: r.concurrency)
    saturation: int | None = None
    for low, high in itertools.pairwise(ordered):
        if high.rps < 1.1 * low.rps:  # more concurrency no longer buys throughput: the client core is full
            saturation = low.concurrency
            break
    # CPU per request from the busier half of the sweep (at low concurrency idle wake-ups inflate it)
    cpu_bound = 1e6 / statistics.median(r.cpu_us_per_request for r in ordered[len(ordered) // 2 :])
    where = f"at concurrency {saturation}" if saturation else f"not within the sweep (up to {ordered[-1].concurrency})"
    print(f"# throughput saturates (next step adds < 10%) {where}; peak {peak.rps:.0f} req/s")
    print(f"# one client core at the measured CPU cost per request bounds throughput near {cpu_bound:.0f} req/s")

    speedup = seq.seconds / conc.seconds
    efficiency = conc.rps / bound
    return {
        "judge_latency_ms": args.latency_ms,
        "judge_num": args.num,
        "judge_concurrency": args.concurrency,
        "judge_request_bytes": request_bytes(main_items[0], JudgeConfig(url=url, model="fake-judge")),
        "judge_sequential_s": round(seq.seconds, 3),
        "judge_sequential_rps": round(seq.rps, 2),
        "judge_concurrent_s": round(conc.seconds, 4),
        "judge_concurrent_rps": round(conc.rps, 1),
        "judge_bound_rps": round(bound, 1),
        "judge_client_cpu_us_per_request": round(conc.cpu_us_per_request, 1),
        "judge_peak_rps": round(peak.rps, 1),
        "judge_client_cpu_bound_rps": round(cpu_bound, 1),
        "judge_saturation_concurrency": saturation or ordered[-1].concurrency,
        "judge_speedup_vs_sequential": round(speedup, 2),
        "judge_efficiency_vs_bound": round(efficiency, 3),
    }


def _split_cpus(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """One CPU for the client, the others for the fake judge, so the figures measure the client and not
    how the scheduler interleaves two busy processes (+0.02-0.03 efficiency, less spread, on 2 cores)."""
    if not pin or not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return {cpus[0]}, set(cpus[1:])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"# judge throughput: latency {args.latency_ms:g} ms, {args.num} requests, {os.cpu_count()} CPUs, "
        f"load average {load}",
        flush=True,
    )
    client_cpus, server_cpus = _split_cpus(args.pin)
    previous = os.sched_getaffinity(0) if client_cpus else None
    if client_cpus:
        print(f"# pinned: client on CPU {sorted(client_cpus)}, fake judge on CPU {sorted(server_cpus)}")
        os.sched_setaffinity(0, client_cpus)
    try:
        with serve_in_process(args.latency_ms / 1000, cpus=server_cpus) as url:
            figures = asyncio.run(run_benchmark(url, args))
    finally:
        if previous:
            os.sched_setaffinity(0, previous)
    applicable = args.concurrency == 64 and args.latency_ms == 50.0
    met = figures["judge_speedup_vs_sequential"] >= TARGET_SPEEDUP and (
        figures["judge_efficiency_vs_bound"] >= TARGET_EFFICIENCY
    )
    verdict = ("met" if met else "MISSED") if applicable else "not evaluated at these settings"
    targets = f"speedup >= {TARGET_SPEEDUP:g}, efficiency >= {TARGET_EFFICIENCY:g}"
    print(f"# targets (concurrency 64, 50 ms): {targets}: {verdict}")
    for name, value in figures.items():
        print(f"{name}={value}")
    sys.stdout.flush()
    return 1 if args.check and applicable and not met else 0


if __name__ == "__main__":
    sys.exit(main())
