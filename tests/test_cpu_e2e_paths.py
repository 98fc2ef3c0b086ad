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

"""More paths of the whole trainer on CPU, one run each: a judge served by vLLM (external endpoint), a
judge served by verl itself, the paired baseline with a validation pass, verl's colocated async mode,
and a judge failing every request (training must stop, in sync and async modes, within a bound).

Each takes minutes, so they are not in the default test run (``-m "not e2e_paths"`` in pyproject's
addopts); run them with ``pytest -m e2e_paths``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from recipe.pasr.cpu.prepare import prepare
from recipe.pasr.cpu.trainer_run import TrainerRun, run_cpu_trainer
from recipe.pasr.cpu.vllm_server import counters, vllm_server
from recipe.pasr.metrics import summarize
from tests.fakes.judge_server import FakeReply, serve_in_thread

pytestmark = [pytest.mark.e2e_paths, pytest.mark.ray]

TIMEOUT_S = 1200
# Start-up (~80 s) plus a first rollout while vLLM warms up (~60 s) on 2 cores, with room for a busy machine.
STOP_BOUND_S = 420
PASR_METRICS = set(summarize([]))
# vLLM constrains the judge's reply to a grade (guided_choice is ignored by vLLM 0.27).
JUDGE_CHOICES = "+pasr.judge.extra_body.structured_outputs={choice:['0','1']}"


def assert_trained(run: TrainerRun, steps: int) -> None:
    assert run.returncode == 0, f"trainer exited {run.returncode} after {run.wall_s:.0f} s:\n{run.tail()}"
    assert sorted(run.steps) == list(range(1, steps + 1))
    for step, metrics in run.steps.items():
        assert not PASR_METRICS - set(metrics), f"step {step} lacks {sorted(PASR_METRICS - set(metrics))}"
    print(f"{run.log.name}: {run.wall_s:.0f} s", file=sys.stderr)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("cpu_paths")
    prepare(workdir / "cpu")
    return workdir


@pytest.fixture(scope="module")
def vllm_judge(workdir) -> Iterator[str]:
    """``vllm serve`` (CPU build) on 127.0.0.1 with the tiny model as a judge; yields its base URL."""
    args = ["--max-model-len", "512", "--dtype", "float32"]
    with vllm_server(workdir / "cpu" / "model", workdir / "vllm_judge.log", args, {"OMP_NUM_THREADS": "1"}) as url:
        yield f"{url}/v1"


def served_requests(url: str) -> float:
    """Finished requests according to vLLM's Prometheus metrics."""
    metric = "vllm:request_success_total"
    return counters(url.removesuffix("/v1"), [metric])[metric]


def test_external_judge_served_by_vllm(workdir, vllm_judge):
    before = served_requests(vllm_judge)
    run = run_cpu_trainer(
        workdir,
        [
            "trainer.total_training_steps=2",
            "pasr.judge_backend=external",
            "pasr.scorer=judge",
            f"pasr.judge.url={vllm_judge}",
            "pasr.judge.model=judge",
            JUDGE_CHOICES,
            "trainer.experiment_name=external_judge",
            f"trainer.rollout_data_dir={workdir / 'external_judge_rollouts'}",
        ],
        timeout_s=TIMEOUT_S,
        log_name="external_judge.log",
    )
    assert_trained(run, 2)
    assert all(metrics["pasr/judge_failures"] == 0 for metrics in run.steps.values())
    records = [
        json.loads(line)
        for dump in (workdir / "external_judge_rollouts").glob("*.jsonl")
        for line in dump.read_text().splitlines()
    ]
    judged = [record for record in records if record["scorer"] == "judge"]
    shared = [record for record in judged if record["judge_deduplicated"]]
    # Every response with an answer was judged (format-invalid ones score missing_answer_acc unjudged): by a
    # request to the server, or by sharing the verdict of an identical answer to the same prompt; the
    # constrained replies parse as grades.
    assert len(records) == 32 and judged
    assert served_requests(vllm_judge) - before == len(judged) - len(shared)
    assert sum(metrics["pasr/judge/deduplicated"] for metrics in run.steps.values()) == len(shared)
    assert {record["acc"] for record in judged} <= {0.0, 1.0} and not any(r["judge_failed"] for r in judged)


def test_judge_served_by_verl(workdir):
    """verl serves the judge from reward.reward_model (its own vLLM server in its own resource pool)."""
    run = run_cpu_trainer(
        workdir,
        [
            "trainer.total_training_steps=2",
            "ray_kwargs.ray_init.num_gpus=2",  # one logical GPU for the policy, one for the judge's pool
            "reward.reward_model.enable=true",
            "reward.reward_model.enable_resource_pool=true",
            "reward.reward_model.n_gpus_per_node=1",
            "reward.reward_model.nnodes=1",
            f"reward.reward_model.model_path={workdir / 'cpu' / 'model'}",
            "reward.reward_model.rollout.name=vllm",
            "reward.reward_model.rollout.tensor_model_parallel_size=1",
            "reward.reward_model.rollout.gpu_memory_utilization=0.1",
            "reward.reward_model.rollout.free_cache_engine=false",
            "+reward.reward_model.rollout.enable_sleep_mode=false",
            "reward.reward_model.rollout.max_model_len=512",
            "reward.reward_model.rollout.prompt_length=448",
            "reward.reward_model.rollout.response_length=16",
            "pasr.judge_backend=verl",
            "pasr.scorer=judge",
            JUDGE_CHOICES,
            "trainer.experiment_name=verl_judge",
        ],
        timeout_s=TIMEOUT_S,
        log_name="verl_judge.log",
    )
    assert_trained(run, 2)
    assert all(metrics["pasr/judge_failures"] == 0 for metrics in run.steps.values())


def test_paired_baseline_with_validation(workdir):
    run = run_cpu_trainer(
        workdir,
        [
            "trainer.total_training_steps=2",
            "pasr.reward.baseline=paired",
            "pasr.paired_samples=2",
            "trainer.test_freq=2",
            "trainer.experiment_name=paired_val",
        ],
        timeout_s=TIMEOUT_S,
        log_name="paired_val.log",
    )
    assert_trained(run, 2)
    assert any(metrics["pasr/refine_rate"] > 0 for metrics in run.steps.values())
    assert all(metrics["pasr/baseline_missing_rate"] == 0 for metrics in run.steps.values())  # paired: always one
    validation = run.steps[2]
    assert "val-core/gsm8k/acc/mean@1" in validation and "val-aux/gsm8k/is_refine/mean@1" in validation


def test_colocate_async_trainer_mode(workdir):
    run = run_cpu_trainer(
        workdir,
        [
            "trainer.total_training_steps=2",
            "trainer.v1.trainer_mode=pasr_colocate_async",
            "trainer.experiment_name=colocate_async",
        ],
        timeout_s=TIMEOUT_S,
        log_name="colocate_async.log",
    )
    assert_trained(run, 2)


@pytest.mark.parametrize("mode", ["pasr_sync", "pasr_colocate_async"])
def test_a_judge_failing_every_request_stops_training_promptly(workdir, mode):
    """Every judged response fails and the policy is ``raise``: every group fails. verl's sync mode would
    end in "no materializable trajectories" and its async modes would evict and refill forever; the
    PASR trainer ends the run with the judge's error, before any update, within a bound."""
    with serve_in_thread(lambda request: FakeReply(content="maybe")) as judge:
        run = run_cpu_trainer(
            workdir,
            [
                f"trainer.v1.trainer_mode={mode}",
                "pasr.scorer=judge",
                "pasr.judge_backend=external",
                f"pasr.judge.url={judge.url}",
                "pasr.judge.model=fake-judge",
                "pasr.judge.max_retries=0",
                "pasr.reward.judge_failure_policy=raise",
                f"trainer.experiment_name=judge_down_{mode}",
            ],
            timeout_s=STOP_BOUND_S,
            log_name=f"judge_down_{mode}.log",
        )
    text = run.log.read_text(errors="replace")
    print(f"{run.log.name}: exit {run.returncode} after {run.wall_s:.0f} s", file=sys.stderr)
    assert run.returncode not in (0, -9), f"exit {run.returncode} after {run.wall_s:.0f} s:\n{run.tail()}"
    assert "PasrRewardError: PASR reward path failed at step 1" in text
    assert "unparseable judge reply: no number in reply" in text
    assert not run.steps  # not one update on a batch of failed groups
    assert run.wall_s < STOP_BOUND_S
