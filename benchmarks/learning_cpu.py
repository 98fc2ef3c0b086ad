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

"""Does the PASR reward teach a real (tiny) language model *when* to refine? The whole trainer, on CPU.

``python benchmarks/learning_cpu.py [--steps N] [--seeds 0 1 2] [--workdir DIR] [--results-dir DIR]``

Per seed: one tiny Llama warm-started on the refine-decision task (:mod:`recipe.pasr.cpu.refine_task`:
three question kinds where refining helps, changes nothing or hurts; the model starts undecided), then two
runs of ``python -m verl.trainer.main_ppo +recipe=pasr_cpu`` (``pasr`` plus CPU sizes: verl's GRPO, FSDP2
update, vLLM rollout on vLLM's CPU build, the PASR reward manager and group hook) from that same model:

* ``pasr``: the recipe as it is;
* ``control``: the same with ``pasr.reward.bonus_weight=0`` (format + accuracy only, no refinement bonus).

The refine rate per kind is read from the runs' own dumps: validation on held-out questions before the
first update and after the last (``trainer.validation_data_dir``, ``val_kwargs.n`` samples per question at
the training temperature), and every training step's rollouts (``trainer.rollout_data_dir``) for the curves.
Each finished run's figures are saved to the results directory (``seed<N>_<condition>.json``, with its
settings, commit and warm start); by default that is ``recipe/pasr/results/learning_cpu/`` in this checkout,
committed, because a run takes about an hour on 2 cores and the six runs do not fit one sitting: a later
invocation with the same settings reuses them and runs only what is missing. The work directory holds what
is only needed while a run lasts (models, dumps, checkpoints, logs). Writes ``learning_cpu.json`` (settings
and summary), ``learning_cpu.md`` (table) and ``learning_cpu.png`` (refine rate per kind over steps, PASR vs
control) to the results directory and ends with ``name=value`` lines: ``learn_refine_delta_<kind>`` (final
minus initial validation refine rate, PASR runs, mean over seeds) and ``control_refine_delta_<kind>``, plus
the per-seed values and accuracies.

Every run is the whole trainer in its own process group with a hard timeout (``run_cpu_trainer``); a run
that fails or times out makes the script exit 1 after writing what it has.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from recipe.pasr.cpu.prepare import PrepareSettings, prepare
from recipe.pasr.cpu.refine_task import KINDS, WARM_START_STEPS, kind_of
from recipe.pasr.cpu.trainer_run import run_cpu_trainer
from recipe.pasr.jsonl import parse_jsonl

CONDITIONS = {"pasr": [], "control": ["pasr.reward.bonus_weight=0"]}
RESULTS_DIR = Path(__file__).resolve().parents[1] / "recipe" / "pasr" / "results" / "learning_cpu"
KIND_NAMES = [kind.name for kind in KINDS]


@dataclass(frozen=True)
class LearningSettings:
    """One benchmark: a run of the default 200 steps took 54 minutes on a 2-core AMD EPYC (see
    benchmarks/README.md)."""

    steps: int = 200
    seeds: tuple[int, ...] = (0, 1, 2)
    conditions: tuple[str, ...] = tuple(CONDITIONS)
    prompts_per_step: int = 12  # 6 helps, 3 neutral, 3 hurts (refine_task.KIND_CYCLE)
    samples_per_prompt: int = 8
    train_prompts: int = 1200
    val_prompts: int = 48
    val_samples_per_prompt: int = 8
    warm_start_steps: int = WARM_START_STEPS
    lr: float = 1e-4
    run_timeout_s: float = 3 * 3600.0  # catches a hung trainer; an hour killed a healthy run at step 130
    extra_overrides: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        unknown = [condition for condition in self.conditions if condition not in CONDITIONS]
        if unknown or not self.conditions:
            raise ValueError(f"conditions {list(self.conditions)}: choose one or more of {', '.join(CONDITIONS)}")

    def overrides(self, run_dir: Path) -> list[str]:
        # One micro-batch per step: the same gradient as accumulating pasr_cpu's micro-batches of 8 (up to
        # float summation order); measured on a 2-core AMD EPYC, a step took 24 s instead of 25.5 s.
        responses = self.prompts_per_step * self.samples_per_prompt
        return [
            f"trainer.total_training_steps={self.steps}",
            f"actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu={responses}",
            f"actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu={responses}",
            f"actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu={responses}",
            "trainer.total_epochs=1000",  # the step count ends the run, not the data
            f"data.train_batch_size={self.prompts_per_step}",
            f"actor_rollout_ref.actor.ppo_mini_batch_size={self.prompts_per_step}",
            f"actor_rollout_ref.rollout.n={self.samples_per_prompt}",
            f"actor_rollout_ref.actor.optim.lr={self.lr}",
            "trainer.val_before_train=true",
            f"trainer.test_freq={self.steps}",
            f"actor_rollout_ref.rollout.val_kwargs.n={self.val_samples_per_prompt}",
            "actor_rollout_ref.rollout.val_kwargs.do_sample=true",
            "actor_rollout_ref.rollout.val_kwargs.temperature=${actor_rollout_ref.rollout.temperature}",
            f"trainer.rollout_data_dir={run_dir / 'rollouts'}",
            f"trainer.validation_data_dir={run_dir / 'validation'}",
            f"trainer.default_local_dir={run_dir / 'checkpoints'}",
            *self.extra_overrides,
        ]


def refine_rates(lines: Iterable[str]) -> dict[str, dict[str, float]]:
    """Per kind: responses, refine rate and accuracy over a dump's lines (PASR columns ``is_refine``, ``acc``)."""
    counts: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for line in parse_jsonl(text.encode() for text in lines):
        if line.record is None:
            raise ValueError(f"dump line {line.number}: {line.problem}")
        row, number = line.record, line.number
        if "is_refine" not in row or "acc" not in row:
            raise ValueError(f"dump line {number} has no PASR columns is_refine/acc: keys {sorted(row)}")
        if row.get("role", "policy") != "policy":
            continue  # paired-baseline responses are not the policy's decisions
        count = counts[kind_of(row["input"]).name]
        count[0] += 1
        count[1] += bool(row["is_refine"])
        count[2] += float(row["acc"])
    return {name: {"n": n, "refine_rate": refined / n, "acc": acc / n} for name, (n, refined, acc) in counts.items()}


def read_dumps(directory: Path) -> dict[int, dict[str, dict[str, float]]]:
    """``{step: refine_rates}`` for every ``<step>.jsonl`` verl wrote to ``directory``."""
    return {
        int(path.stem): refine_rates(path.read_text().splitlines())
        for path in sorted(directory.glob("*.jsonl"), key=lambda p: int(p.stem))
    }


def run_seed(settings: LearningSettings, seed: int, workdir: Path, results_dir: Path) -> dict[str, Any]:
    """Train ``seed``'s warm-started model under each condition; return the dumps' figures per condition.

    A run saved in ``results_dir`` with the same settings is reused; the warm start is built (or reused, by
    :func:`prepare`) only when a run is missing.
    """
    result = {condition: saved_run(settings, seed, condition, results_dir) for condition in settings.conditions}
    missing = [condition for condition, saved in result.items() if saved is None]
    if not missing:
        return result
    seed_dir = workdir / f"seed{seed}"
    build = prepare(
        seed_dir / "cpu",
        PrepareSettings(
            train_prompts=settings.train_prompts,
            val_prompts=settings.val_prompts,
            warm_start_steps=settings.warm_start_steps,
            seed=seed,
            task="refine_decision",
        ),
    )
    for condition in missing:
        result[condition] = run_condition(settings, seed, condition, seed_dir)
        if result[condition]["returncode"] == 0:
            record = {"settings": asdict(settings), "commit": code_commit(), "warm_start": build["warm_start"]}
            run_file(results_dir, seed, condition).write_text(json.dumps({**record, "result": result[condition]}))
    return result


def run_file(results_dir: Path, seed: int, condition: str) -> Path:
    return results_dir / f"seed{seed}_{condition}.json"


def saved_run(settings: LearningSettings, seed: int, condition: str, results_dir: Path) -> dict[str, Any] | None:
    """The saved figures of this run, or None when it has not finished yet.

    A saved run made with other settings is an error, not something to overwrite: the default results
    directory is committed, and a quick trial with fewer steps must not replace half an hour of training.
    """
    saved = run_file(results_dir, seed, condition)
    if not saved.exists():
        return None
    stored = json.loads(saved.read_text())
    wanted = seed_settings(json.loads(json.dumps(asdict(settings))))
    found = seed_settings(stored["settings"])
    if found != wanted:
        differing = ", ".join(
            f"{key}: saved {found.get(key)!r}, asked {wanted.get(key)!r}"
            for key in sorted(set(found) | set(wanted))
            if found.get(key) != wanted.get(key)
        )
        raise SystemExit(
            f"{saved} holds a run made with other settings ({differing}); pass another --results-dir, "
            "or delete the file to run it again"
        )
    print(f"seed {seed} {condition}: reusing the finished run in {saved}", file=sys.stderr)
    return _int_steps(stored["result"])


def run_overrides(settings: LearningSettings, seed: int, condition: str, run_dir: Path) -> list[str]:
    """The Hydra overrides of one run: the benchmark's settings, the seed, the condition."""
    return [
        *settings.overrides(run_dir),
        f"data.seed={seed}",
        f"actor_rollout_ref.rollout.seed={seed}",
        *CONDITIONS[condition],
    ]


def run_condition(settings: LearningSettings, seed: int, condition: str, seed_dir: Path) -> dict[str, Any]:
    """One trainer run from the seed's warm start; its figures read from the run's own dumps."""
    run_dir = seed_dir / condition
    for stale in ("rollouts", "validation", "checkpoints"):  # an unfinished run's dumps would mix with this one's
        shutil.rmtree(run_dir / stale, ignore_errors=True)
    run = run_cpu_trainer(
        run_dir,
        run_overrides(settings, seed, condition, run_dir),
        timeout_s=settings.run_timeout_s,
        cpu_dir=seed_dir / "cpu",
    )
    if run.returncode != 0:
        failure = f"seed {seed} {condition}: trainer exited {run.returncode}; log {run.log}:\n{run.tail()}"
        print(failure, file=sys.stderr)
    return {
        "returncode": run.returncode,
        "wall_s": run.wall_s,
        "steps_done": max(run.steps, default=0),
        "validation": read_dumps(run_dir / "validation"),
        "train": read_dumps(run_dir / "rollouts"),
        "log": str(run.log),
    }


def seed_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings that shape a seed's runs: which other seeds and conditions run, and a timeout a finished
    run did not hit, do not."""
    return {key: value for key, value in settings.items() if key not in ("seeds", "conditions", "run_timeout_s")}


@functools.cache
def code_commit(checkout: Path = Path(__file__).parent) -> str:
    """The checkout's commit when first asked, which ``main`` does as it starts: a run saved half an hour
    later names the code it ran, even if the checkout has moved on meanwhile. Uncommitted changes to
    tracked files are named too: the commit alone would claim code that did not run."""
    found = subprocess.run(
        ["git", "describe", "--always", "--dirty=+uncommitted changes", "--abbrev=40", "--match=NONE"],
        cwd=checkout,
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() if found.returncode == 0 else "unknown (not a git checkout)"


def _int_steps(result: dict[str, Any]) -> dict[str, Any]:
    """JSON made the step keys of a saved run's dumps strings; make them steps again."""
    for dumps in ("validation", "train"):
        result[dumps] = {int(step): rates for step, rates in result[dumps].items()}
    return result


def deltas(condition_result: dict[str, Any]) -> dict[str, float]:
    """Final minus initial validation refine rate per kind (NaN without two validation dumps)."""
    validation = condition_result["validation"]
    if len(validation) < 2:
        return {name: float("nan") for name in KIND_NAMES}
    first, last = validation[min(validation)], validation[max(validation)]
    return {name: last[name]["refine_rate"] - first[name]["refine_rate"] for name in KIND_NAMES}


def summarize(results: dict[int, dict[str, Any]]) -> dict[str, float]:
    summary: dict[str, float] = {}
    for condition, prefix in (("pasr", "learn"), ("control", "control")):
        if not all(condition in result for result in results.values()):
            continue  # not run (--conditions)
        per_seed = {seed: deltas(result[condition]) for seed, result in results.items()}
        for name in KIND_NAMES:
            values = [per_seed[seed][name] for seed in per_seed]
            summary[f"{prefix}_refine_delta_{name}"] = statistics.fmean(values) if values else float("nan")
            for seed, value in zip(per_seed, values, strict=True):
                summary[f"{prefix}_refine_delta_{name}_seed{seed}"] = value
    return summary


def table(results: dict[int, dict[str, Any]]) -> str:
    rows = [
        "| seed | run | steps | "
        + " | ".join(f"{n}: refine before → after" for n in KIND_NAMES)
        + " | acc before → after |"
    ]
    rows.append("| --- | --- | --- | " + " | ".join("---" for _ in KIND_NAMES) + " | --- |")
    for seed, result in results.items():
        for condition, run in result.items():
            validation = run["validation"]
            if len(validation) < 2:
                rows.append(f"| {seed} | {condition} | {run['steps_done']} | (no final validation) |")
                continue
            first, last = validation[min(validation)], validation[max(validation)]
            cells = [f"{first[n]['refine_rate']:.2f} → {last[n]['refine_rate']:.2f}" for n in KIND_NAMES]
            acc = [statistics.fmean(v[n]["acc"] for n in KIND_NAMES) for v in (first, last)]
            rows.append(
                f"| {seed} | {condition} | {run['steps_done']} | "
                + " | ".join(cells)
                + f" | {acc[0]:.2f} → {acc[1]:.2f} |"
            )
    return "\n".join(rows) + "\n"


def plot(results: dict[int, dict[str, Any]], path: Path, window: int) -> None:
    """Refine rate per kind over training steps (moving average of ``window`` steps), PASR vs control."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(KIND_NAMES), figsize=(4.2 * len(KIND_NAMES), 3.6), sharey=True)
    styles = {"pasr": "tab:blue", "control": "tab:gray"}
    for axis, name in zip(axes, KIND_NAMES, strict=True):
        for seed, result in results.items():
            for condition, run in result.items():
                train = run["train"]
                steps = sorted(step for step in train if name in train[step])
                rates = [train[step][name]["refine_rate"] for step in steps]
                smoothed = [statistics.fmean(rates[max(0, i - window + 1) : i + 1]) for i in range(len(rates))]
                label = f"{condition}" if seed == min(results) else None
                axis.plot(steps, smoothed, color=styles[condition], alpha=0.8, linewidth=1.2, label=label)
        axis.set_title(f"refining {name}")
        axis.set_xlabel("training step")
        axis.set_ylim(-0.02, 1.02)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel(f"refine rate (moving mean, {window} steps)")
    axes[-1].legend(loc="best", frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("learning_cpu"), help="models, dumps, checkpoints")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="saved runs, table, plot")
    for setting in fields(LearningSettings):  # every setting is an option, with the dataclass's default
        option = "--" + setting.name.replace("_", "-")
        if setting.name == "seeds":
            parser.add_argument(option, type=int, nargs="+", default=list(setting.default))
        elif setting.name == "conditions":
            parser.add_argument(option, nargs="+", choices=list(CONDITIONS), default=list(setting.default))
        elif setting.name == "extra_overrides":
            parser.add_argument("--override", dest=setting.name, action="append", default=[], help="Hydra override")
        else:
            parser.add_argument(option, type=type(setting.default), default=setting.default)
    args = vars(parser.parse_args(argv))
    code_commit()
    workdir, results_dir = args.pop("workdir"), args.pop("results_dir")
    settings = LearningSettings(
        **{**args, **{name: tuple(args[name]) for name in ("seeds", "conditions", "extra_overrides")}}
    )
    workdir.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    results = {seed: run_seed(settings, seed, workdir.resolve(), results_dir) for seed in settings.seeds}
    summary = summarize(results)
    (results_dir / "learning_cpu.json").write_text(json.dumps({"settings": asdict(settings), "summary": summary}))
    (results_dir / "learning_cpu.md").write_text(table(results))
    plot(results, results_dir / "learning_cpu.png", window=max(1, settings.steps // 20))
    print(table(results))
    for name, value in summary.items():
        print(f"{name}={value:.3f}")
    failed = [
        (seed, condition)
        for seed, result in results.items()
        for condition, run in result.items()
        if run["returncode"] != 0
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
