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

"""Training step time of the whole PASR trainer against the same trainer with verl's plain GSM8K reward.

Both runs go through ``recipe/pasr/run_cpu_smoke.sh`` (``main_ppo +recipe=pasr_cpu``): same tiny model,
data, batch, group size and response length, FSDP2 and verl's vLLM rollout on CPU. The baseline
replaces PASR's reward manager, group hook and trainer mode with verl's own (``reward_manager.name=naive``
with verl's GSM8K scorer, the default agent-loop manager, trainer mode ``sync``); its copy of the training
file names the data source ``openai/gsm8k``, the name verl's scorer answers to (PASR takes either).
The first step of each run (vLLM warm-up) is left out; the figure is the ratio of median
``timing_s/step`` over the rest.

Usage: ``python benchmarks/step_time.py [--steps 8] [--workdir DIR]``. Ends with ``name=value`` lines.
On CPU, generation dominates a step; on GPUs the reward path is a smaller share still.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from recipe.pasr.cpu.prepare import prepare
from recipe.pasr.cpu.trainer_run import TrainerRun, run_cpu_trainer

PLAIN_REWARD = [
    "reward.reward_manager.source=register",
    "reward.reward_manager.name=naive",
    "reward.reward_manager.module.path=null",
    "actor_rollout_ref.rollout.agent.agent_loop_manager_class=null",
    "trainer.v1.trainer_mode=sync",
]
VERL_GSM8K_SOURCE = "openai/gsm8k"
TIMINGS = ("timing_s/step", "timing_s/gen", "timing_s/update_actor")


def plain_training_file(cpu_dir: Path) -> Path:
    """The CPU run's training file with the data source verl's own GSM8K scorer recognises."""
    table = pq.read_table(cpu_dir / "data" / "train.parquet")
    column = table.schema.get_field_index("data_source")
    table = table.set_column(column, "data_source", pa.array([VERL_GSM8K_SOURCE] * table.num_rows, pa.string()))
    path = cpu_dir / "data" / "train_verl_gsm8k.parquet"
    pq.write_table(table, path)
    return path


def measured_steps(run: TrainerRun, name: str, steps: int) -> dict[int, dict[str, float]]:
    if run.returncode != 0 or sorted(run.steps) != list(range(1, steps + 1)):
        raise SystemExit(f"{name} run failed (exit {run.returncode}, steps {sorted(run.steps)}):\n{run.tail()}")
    return {step: metrics for step, metrics in run.steps.items() if step > 1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="training steps per run (the first is not measured)")
    parser.add_argument("--workdir", type=Path, help="where model, data and logs go (default: a temp dir)")
    parser.add_argument("--timeout-s", type=float, default=1500)
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error("--steps must be at least 2 (the first step is not measured)")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pasr_step_time_"))
    common = [f"trainer.total_training_steps={args.steps}", "trainer.save_freq=-1"]
    prepare(workdir / "cpu")  # the same directory run_cpu_smoke.sh uses (PASR_CPU_DIR=workdir/cpu)
    plain = [*PLAIN_REWARD, f"data.train_files={plain_training_file(workdir / 'cpu')}"]
    runs = {}
    for name, extra in (("plain", plain), ("pasr", [])):
        run = run_cpu_trainer(
            workdir,
            [*common, *extra, f"trainer.experiment_name={name}"],
            timeout_s=args.timeout_s,
            log_name=f"{name}.log",
        )
        runs[name] = measured_steps(run, name, args.steps)
        print(f"{name}: {run.wall_s:.0f} s wall, log {run.log}", file=sys.stderr)
    medians = {
        (name, timing): statistics.median(metrics[timing] for metrics in steps.values())
        for name, steps in runs.items()
        for timing in TIMINGS
    }
    print(f"{'timing (median, steps 2..N)':<32}{'plain':>10}{'pasr':>10}{'ratio':>8}")
    for timing in TIMINGS:
        plain, pasr = medians[("plain", timing)], medians[("pasr", timing)]
        print(f"{timing:<32}{plain:>10.3f}{pasr:>10.3f}{pasr / plain:>8.3f}")
    print(f"measured_steps={args.steps - 1}")
    print(f"pasr_step_s={medians[('pasr', 'timing_s/step')]:.4f}")
    print(f"plain_step_s={medians[('plain', 'timing_s/step')]:.4f}")
    print(f"pasr_vs_plain_gen_time_ratio={medians[('pasr', 'timing_s/gen')] / medians[('plain', 'timing_s/gen')]:.4f}")
    print(
        f"pasr_vs_plain_step_time_ratio={medians[('pasr', 'timing_s/step')] / medians[('plain', 'timing_s/step')]:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
