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

"""The PASR group hook, driven through verl 0.9.1's own V1 agent-loop code on CPU.

Real parts: Hydra composition of ``+recipe=pasr``, Ray, TransferQueue, verl's ``RewardLoopWorker``
actors running ``PasrRewardManager`` (loaded by verl's importlib loader), ``AgentLoopWorkerTQ``'s
``generate_sequences``/``_run_prompt``/``SingleTurnAgentLoop``, ``RLHFDataset`` and ``ReplayBuffer``, and
verl's GRPO advantage. Only the LLM server is replaced (``tests.fakes.verl_fakes.ScriptedLLMClient``), and the
model directory holds a tokenizer and ``config.json`` but no weights.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

ray = pytest.importorskip("ray")
tq = pytest.importorskip("transfer_queue")

from hydra import compose, initialize_config_module  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from verl.experimental.reward_loop import RewardLoopManager  # noqa: E402
from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage  # noqa: E402
from verl.trainer.ppo.metric_utils import process_validation_metrics  # noqa: E402
from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer  # noqa: E402
from verl.utils import tensordict_utils as tu  # noqa: E402
from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn  # noqa: E402

from recipe.pasr.metrics import summarize  # noqa: E402
from recipe.pasr.tasks import TASKS, pasr_messages, standard_messages  # noqa: E402
from recipe.pasr.verl.agent_loop import PasrAgentLoopManager  # noqa: E402
from recipe.pasr.verl.trainer import PASR_TRAINERS, PasrRewardError, reward_records  # noqa: E402
from tests.fakes.judge_server import FakeReply, serve_in_thread  # noqa: E402
from tests.fakes.tiny_hf import build_tiny_model_dir, one_response  # noqa: E402
from tests.fakes.verl_fakes import ScriptBoard, ScriptedLLMClient  # noqa: E402

pytestmark = pytest.mark.ray

N = 8
REFINE_RIGHT = "<think> so 12 <refine> check again 12 </refine> </think> <answer> 12 </answer>"
REFINE_WRONG = "<think> so 12 <refine> fix 18 </refine> </think> <answer> 18 </answer>"
PLAIN_RIGHT = "<think> so 12 </think> <answer> 12 </answer>"
PLAIN_WRONG = "<think> so 18 </think> <answer> 18 </answer>"
INVALID = "<think> so 12 </think> 12"
EMPTY_REFINE = "<think> so <refine> </refine> 12 </think> <answer> 12 </answer>"


def compose_config(model_dir: Path, *overrides: str):
    with initialize_config_module("verl.trainer.config", version_base=None):
        config = compose(
            "ppo_trainer",
            overrides=[
                "+recipe=pasr",
                f"actor_rollout_ref.model.path={model_dir}",
                "actor_rollout_ref.rollout.name=vllm",
                "actor_rollout_ref.rollout.agent.num_workers=1",
                "actor_rollout_ref.rollout.val_kwargs.n=2",
                "reward.num_workers=1",
                "data.max_prompt_length=512",
                "data.max_response_length=64",
                "data.filter_overlong_prompts=false",
                "transfer_queue.backend.SimpleStorage.num_data_storage_units=1",
                *overrides,
            ],
        )
    OmegaConf.resolve(config)
    return config


def judge_by_answer(request):
    """1 for an answer 12, 0 for 18, an unparseable reply for 42 (a judge failure)."""
    fenced = re.search(r"\n<<<CANDIDATE-(\w+)>>>\n(.*)\n<<<END-CANDIDATE-\1>>>$", request.user_text(), re.S)
    candidate = fenced.group(2).split()[0]  # the answer's first word
    content = {"42": "maybe", "12": "1"}.get(candidate, "0")
    return FakeReply(content=content)


class Env:
    """One Ray + TransferQueue session shared by the tests of this module."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.model_dir = build_tiny_model_dir(tmp / "model", with_weights=False)
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        repo_root = str(Path(__file__).resolve().parents[1])  # workers unpickle tests.fakes.verl_fakes
        python_path = os.pathsep.join(filter(None, [repo_root, os.environ.get("PYTHONPATH")]))
        # Ray starts with the recipe's own runtime_env (its worker_process_setup_hook), as main_ppo does.
        runtime_env = OmegaConf.to_container(compose_config(self.model_dir).ray_kwargs.ray_init.runtime_env)
        runtime_env = {k: v for k, v in runtime_env.items() if v is not None}
        runtime_env["env_vars"] = {"PYTHONPATH": python_path}
        ray.init(num_cpus=8, include_dashboard=False, runtime_env=runtime_env)
        self.exit_stack = contextlib.ExitStack()
        self.judge = self.exit_stack.enter_context(serve_in_thread(judge_by_answer))
        # The reward workers of the module are configured with the judge; rule-scored tasks never call it.
        self.base_config = compose_config(
            self.model_dir,
            "pasr.judge_backend=external",
            f"pasr.judge.url={self.judge.url}",
            "pasr.judge.model=fake-judge",
            "pasr.judge.max_retries=0",
        )
        tq.init(self.base_config.transfer_queue)
        self.reward_handles = RewardLoopManager(self.base_config).reward_loop_worker_handles
        self.board = ScriptBoard.remote()
        self.managers: dict[str, PasrAgentLoopManager] = {}

    def ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def manager(self, config, script: dict, delays: dict | None = None) -> PasrAgentLoopManager:
        """An agent-loop manager for ``config`` answering from ``script``.

        Its workers are kept per config for the module (each takes tens of seconds to start on CPU): a test
        sets the script on the shared board, and what an earlier test left in the workers (errors, baseline
        records) is taken first, so each test sees only its own.
        """
        eos = self.tokenizer.eos_token_id
        token_script = {
            (self.ids(key)[0], kind): [[*self.ids(t), eos] for t in texts] for (key, kind), texts in script.items()
        }
        token_delays = {(self.ids(key)[0], kind): delay for (key, kind), delay in (delays or {}).items()}
        ray.get(self.board.set_script.remote(token_script, token_delays))
        key = OmegaConf.to_yaml(config)
        manager = self.managers.get(key)
        if manager is None:
            think_token_id = self.tokenizer.convert_tokens_to_ids("<think>")
            manager = self.managers[key] = PasrAgentLoopManager.create(
                config=config,
                llm_client=ScriptedLLMClient(self.board, think_token_id),
                teacher_client=None,
                reward_loop_worker_handles=self.reward_handles,
            )
        else:
            manager.take_errors()
            manager.take_baseline_records()
        return manager

    def batch(self, config, records: list[dict], validate: bool = False, uids: list[str] | None = None):
        path = self.tmp / f"{uuid.uuid4().hex}.parquet"
        pd.DataFrame(records).to_parquet(path)
        dataset = RLHFDataset([str(path)], self.tokenizer, config.data)
        batch_dict = collate_fn([dataset[i] for i in range(len(dataset))])
        batch_dict["uid"] = np.array(uids or [str(uuid.uuid4()) for _ in records], dtype=object)
        batch = tu.get_tensordict(batch_dict)
        tu.assign_non_tensor_data(batch, "global_steps", 1)
        if validate:
            tu.assign_non_tensor_data(batch, "validate", True)
        return batch

    def submit(self, manager: PasrAgentLoopManager, batch, partition: str) -> list[str]:
        uids = list(batch["uid"])
        tags = [{"is_prompt": True, "status": "pending", "global_steps": 1} for _ in uids]
        tq.kv_batch_put(keys=uids, partition_id=partition, tags=tags)
        manager.generate_sequences(batch)  # returns once sessions are spawned, as in verl
        return uids

    @staticmethod
    def replay_buffer() -> ReplayBuffer:
        return ReplayBuffer(
            trainer_mode="sync",
            trainer_config=OmegaConf.create({}),
            max_off_policy_threshold=None,
            max_off_policy_strategy="drop",
            sampler_kwargs=OmegaConf.create({}),
            poll_interval=0.05,
        )

    def run(self, manager: PasrAgentLoopManager, batch, partition: str) -> dict[str, list[dict]]:
        """Generate, then read back what training would see, grouped by prompt uid.

        Also computes the trainer's ``pasr/*`` step metrics on the same TransferQueue rows and the paired
        baselines' records, as the trainer does (``self.last_metrics``).
        """
        uids = self.submit(manager, batch, partition)
        meta, _ = self.replay_buffer().sample(global_steps=1, partition_id=partition, batch_size=len(uids))
        data = tq.kv_batch_get(
            keys=meta.keys, partition_id=partition, select_fields=["uid", "rm_scores", "extra_fields", "responses"]
        )
        scores = data["rm_scores"].to_padded_tensor(padding=0.0).sum(dim=-1).tolist()
        extra = data.pop("extra_fields").tolist()
        responses = data["responses"].to_padded_tensor(padding=self.tokenizer.pad_token_id)
        groups: dict[str, list[dict]] = {}
        for index, key in enumerate(meta.keys):
            row = dict(extra[index]["reward_extra_info"])
            row["rm_score"] = scores[index]
            row["text"] = self.tokenizer.decode(responses[index], skip_special_tokens=True).strip()
            row["key"] = key
            groups.setdefault(data["uid"][index], []).append(row)
        self.last_metrics = summarize(reward_records(meta)[1] + manager.take_baseline_records())
        tq.kv_clear(keys=meta.keys, partition_id=partition)
        tq.kv_clear(keys=uids, partition_id=partition)
        return groups


def record(question: str, ground_truth: str, data_source: str = "gsm8k", **extra) -> dict:
    task = TASKS.get(data_source)  # None for a source the recipe does not know (an error case)
    return {
        "data_source": data_source,
        "prompt": pasr_messages(question),
        "ability": task.ability if task else "unknown",
        "reward_model": {"style": "rule" if task and task.rule else "model", "ground_truth": ground_truth},
        "extra_info": {
            "split": "train",
            "index": 0,
            "question": question,
            "task_type": str(task.task_type) if task else "general",
            "standard_prompt": standard_messages(question),
            **extra,
        },
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    environment = Env(tmp_path_factory.mktemp("verl"))
    yield environment
    environment.exit_stack.close()
    tq.close()
    ray.shutdown()


def by_text(group: list[dict]) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for row in group:
        rows.setdefault(row["text"], []).append(row)
    return rows


def test_in_group_bonus_reaches_training_rewards(env):
    mixed = [REFINE_RIGHT, REFINE_RIGHT, REFINE_WRONG, PLAIN_RIGHT, PLAIN_RIGHT, PLAIN_WRONG, INVALID, EMPTY_REFINE]
    all_refine = [REFINE_RIGHT] * 4 + [REFINE_WRONG] * 4
    no_refine = [PLAIN_RIGHT] * 4 + [PLAIN_WRONG] * 4
    script = {("12", "pasr"): mixed, ("42", "pasr"): all_refine, ("72", "pasr"): no_refine}
    manager = env.manager(env.base_config, script)
    batch = env.batch(env.base_config, [record("what is 12", "#### 12"), record("what is 42", "#### 12"),
                                        record("what is 72", "#### 12")])  # fmt: skip
    groups = env.run(manager, batch, "train")
    assert sorted(len(g) for g in groups.values()) == [N, N, N]
    mixed_group = next(g for g in groups.values() if {r["text"] for r in g} == set(mixed))
    rows = by_text(mixed_group)
    # Baseline: non-refining policy responses, whatever their format: right, right, wrong, invalid (no answer
    # block), empty-refine (not a refinement; its answer is still scored) -> acc 1, 1, 0, 0, 1 -> 0.6.
    for row in mixed_group:
        assert row["baseline"] == pytest.approx(0.6)
        assert row["baseline_source"] == "in_group"
        assert row["rm_score"] == pytest.approx(row["score"])
    assert [r["rm_score"] for r in rows[REFINE_RIGHT]] == pytest.approx([3.0, 3.0])  # +1 format, 1 acc, +1 win
    assert rows[REFINE_WRONG][0]["rm_score"] == pytest.approx(0.0)  # +1, 0, -1 loss
    assert rows[PLAIN_RIGHT][0]["rm_score"] == pytest.approx(2.0)
    assert rows[PLAIN_WRONG][0]["rm_score"] == pytest.approx(1.0)
    assert rows[INVALID][0]["rm_score"] == pytest.approx(-1.0)
    assert rows[EMPTY_REFINE][0]["rm_score"] == pytest.approx(0.0)  # invalid format (-1), its answer still scored (1)
    assert rows[EMPTY_REFINE][0]["is_refine"] is False

    refine_only = next(g for g in groups.values() if {r["text"] for r in g} == {REFINE_RIGHT, REFINE_WRONG})
    assert all(r["baseline_source"] == "none" and r["baseline"] is None and r["refine_bonus"] == 0 for r in refine_only)
    plain_only = next(g for g in groups.values() if {r["text"] for r in g} == {PLAIN_RIGHT, PLAIN_WRONG})
    assert all(r["refine_bonus"] == 0 and r["baseline"] == pytest.approx(0.5) for r in plain_only)

    # The trainer's pasr/* metrics over the same rows: 24 responses, 11 refining (3 + 8 + 0).
    metrics = env.last_metrics
    assert metrics["pasr/refine_rate"] == pytest.approx(11 / 24)
    assert metrics["pasr/refine_win_rate"] == pytest.approx(2 / 11)
    assert metrics["pasr/refine_loss_rate"] == pytest.approx(1 / 11)
    assert metrics["pasr/refine_tie_rate"] == 0.0
    assert metrics["pasr/baseline_missing_rate"] == pytest.approx(8 / 11)  # the all-refining group
    assert metrics["pasr/format_ok_rate"] == pytest.approx(22 / 24)
    assert metrics["pasr/judge_failures"] == 0.0

    # verl's own GRPO on exactly what training reads: refining-and-right is the best response of its group.
    scores = torch.tensor([[r["rm_score"]] for r in mixed_group])
    advantages, _ = compute_grpo_outcome_advantage(
        scores, torch.ones_like(scores), np.array(["g"] * len(mixed_group), dtype=object)
    )
    best = max(range(len(mixed_group)), key=lambda i: advantages[i, 0].item())
    assert mixed_group[best]["text"] == REFINE_RIGHT


def test_paired_baseline_is_generated_scored_and_kept_out_of_training(env):
    config = compose_config(env.model_dir, "pasr.reward.baseline=paired", "pasr.paired_samples=3")
    script = {("12", "pasr"): [REFINE_RIGHT] * 4 + [PLAIN_RIGHT] * 4, ("12", "standard"): ["12", "18", "18"]}
    groups = env.run(env.manager(config, script), env.batch(config, [record("what is 12", "#### 12")]), "train")
    (group,) = groups.values()
    assert len(group) == N  # the 3 standard responses never reach TransferQueue
    rows = by_text(group)
    for row in group:
        assert row["baseline_source"] == "paired"
        assert row["baseline"] == pytest.approx(1 / 3)  # standard answers 12, 18, 18 against #### 12
    assert [r["rm_score"] for r in rows[REFINE_RIGHT]] == pytest.approx([3.0] * 4)  # beat the standard baseline
    assert [r["refine_bonus"] for r in rows[PLAIN_RIGHT]] == [0.0] * 4


def test_judge_failure_neutralizes_only_its_group(env):
    script = {
        ("12", "pasr"): [REFINE_RIGHT, PLAIN_RIGHT, PLAIN_WRONG, PLAIN_RIGHT] * 2,
        ("72", "pasr"): [REFINE_RIGHT] * 4 + [PLAIN_RIGHT] * 3 + ["<think> so </think> <answer> 42 </answer>"],
    }
    manager = env.manager(env.base_config, script)
    records = [record("what is 12", "12", "drop"), record("what is 72", "12", "drop")]
    groups = env.run(manager, env.batch(env.base_config, records), "train")
    healthy = next(g for g in groups.values() if PLAIN_WRONG in {r["text"] for r in g})
    failed = next(g for g in groups.values() if g is not healthy)
    assert all(r["scorer"] == "judge" and not r["judge_failed"] for r in healthy)
    assert sorted(r["rm_score"] for r in healthy) == pytest.approx([1.0] * 2 + [2.0] * 4 + [3.0] * 2)
    assert all(r["neutralized"] and r["rm_score"] == 0.0 for r in failed)  # no gradient from this group
    failures = [r for r in failed if r["judge_failed"]]
    assert len(failures) == 1 and failures[0]["acc"] is None and "unparseable" in failures[0]["judge_error"]
    assert {r["acc"] for r in failed if not r["judge_failed"]} == {1.0}  # per-response acc is kept
    assert manager.take_errors() == []


def test_validation_scores_with_the_same_reward_and_errors_surface(env):
    script = {("12", "pasr"): [REFINE_RIGHT, PLAIN_WRONG], ("72", "pasr"): [PLAIN_RIGHT]}
    manager = env.manager(env.base_config, script)
    records = [record("what is 12", "#### 12"), record("what is 72", "#### 12", "no_such_source")]
    groups = env.run(manager, env.batch(env.base_config, records, validate=True), "val")
    scored = [g for g in groups.values() if g and "score" in g[0]]
    assert len(scored) == 1 and len(scored[0]) == 2  # val_kwargs.n = 2
    rows = by_text(scored[0])
    assert rows[REFINE_RIGHT][0]["refine_outcome"] == "win" and rows[REFINE_RIGHT][0]["rm_score"] == pytest.approx(3.0)
    # verl's own validation aggregation turns the reward info into per-source accuracy and refine rate.
    keys = [key for key in scored[0][0] if key not in ("text", "key", "rm_score")]
    infos = {key: [row[key] for row in scored[0]] for key in keys}
    per_source = process_validation_metrics(["gsm8k"] * 2, ["u"] * 2, infos)["gsm8k"]
    assert per_source["acc"]["mean@2"] == pytest.approx(0.5)
    assert per_source["is_refine"]["mean@2"] == pytest.approx(0.5)
    errors = manager.take_errors()
    assert errors and all("no_such_source" in error for error in errors)
    assert manager.take_errors() == []  # taken once


def test_trainer_modes_are_registered_where_verls_trainer_is_imported_and_only_there(env):
    # Its own runtime env: a fresh Ray worker process, not one an earlier test's task left with verl loaded.
    @ray.remote(runtime_env={"env_vars": {"PASR_TEST_WORKER": uuid.uuid4().hex}})
    def loaded_then_trainers(modes: list[str]) -> tuple[list[bool], list[str]]:
        """The recipe's setup hook, not the driver, registers them, once verl's trainer package is imported."""
        import sys

        loaded = [name in sys.modules for name in ("verl.trainer.ppo.v1", "recipe.pasr.verl.trainer")]
        from verl.trainer.ppo.v1 import get_trainer_cls

        return loaded, [get_trainer_cls(mode).__name__ for mode in modes]

    loaded, names = ray.get(loaded_then_trainers.remote(["pasr_sync", "pasr_colocate_async", "pasr_separate_async"]))
    assert loaded == [False, False]  # a worker that never builds a trainer never pays for its imports
    assert names == ["PasrPPOTrainerSync", "PasrPPOTrainerColocateAsync", "PasrPPOTrainerSeparateAsync"]


def test_pasr_trainer_is_verl_sync_plus_metrics_and_stops_on_reward_errors(env, monkeypatch):
    from verl.trainer.ppo.v1 import PPOTrainer
    from verl.trainer.ppo.v1.replay_buffer import ReplayBufferAsync

    config = compose_config(env.model_dir)
    trainer = PASR_TRAINERS["pasr_sync"](config)
    assert trainer.trainer_mode == "sync" and config.trainer.v1.trainer_mode == "sync"
    assert type(trainer.replay_buffer) is ReplayBuffer and not isinstance(trainer.replay_buffer, ReplayBufferAsync)

    monkeypatch.setattr(PPOTrainer, "_compute_metrics", lambda self, *args: None)  # verl's GPU-step metrics

    class Manager:
        def __init__(self, errors: list[str]) -> None:
            self.errors = errors

        def take_errors(self) -> list[str]:
            return self.errors

        def take_baseline_records(self) -> list[dict]:
            return []

    empty_batch = type("Meta", (), {"keys": [], "tags": [], "partition_id": "train"})()
    trainer.agent_loop_manager = Manager([])
    metrics: dict = {}
    trainer._compute_metrics(empty_batch, metrics, {}, 1, 0)
    assert metrics == {}
    trainer.agent_loop_manager = Manager(["uid x: JudgeFailureError: judge failure rate 9/50 exceeds 10%"])
    trainer.global_steps = 3
    with pytest.raises(RuntimeError, match="judge failure rate"):
        trainer._compute_metrics(empty_batch, {}, {}, 3, 0)


def test_groups_are_released_one_by_one_not_per_batch(env):
    """A slow prompt does not hold back a finished group: its ``finished`` tag and final rows come first."""

    script = {("12", "pasr"): [REFINE_RIGHT, PLAIN_WRONG], ("72", "pasr"): [PLAIN_RIGHT, PLAIN_WRONG]}
    config = compose_config(env.model_dir, "actor_rollout_ref.rollout.n=2")
    manager = env.manager(config, script, delays={("72", "pasr"): 6.0})
    batch = env.batch(config, [record("what is 12", "#### 12"), record("what is 72", "#### 12")])
    fast, slow = env.submit(manager, batch, "train")

    def status(uid: str) -> str:
        return tq.kv_list()["train"][uid]["status"]

    deadline = time.monotonic() + 60
    while status(fast) != "finished" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status(fast) == "finished"
    assert status(slow) == "running"  # still generating: the fast group did not wait for it
    fast_keys = [key for key in tq.kv_list()["train"] if key.startswith(f"{fast}_")]
    rows = tq.kv_batch_get(keys=fast_keys, partition_id="train", select_fields=["extra_fields"])
    outcomes = {row["reward_extra_info"]["refine_outcome"] for row in rows.pop("extra_fields").tolist()}
    assert outcomes == {"win", None}  # final group rewards, bonus included

    meta, _ = env.replay_buffer().sample(global_steps=1, partition_id="train", batch_size=2)
    assert {key.rsplit("_", 2)[0] for key in meta.keys} == {fast, slow}
    tq.kv_clear(keys=meta.keys, partition_id="train")
    tq.kv_clear(keys=[fast, slow], partition_id="train")


def test_a_group_whose_reward_cannot_be_applied_releases_every_session():
    """With judge_failure_policy=raise the group reward raises: no session may wait forever for it."""
    from verl.experimental.agent_loop.agent_loop import AgentLoopMetrics, AgentLoopOutput

    from recipe.pasr.reward import JudgeFailureError, RewardConfig, SampleScore, sample_record
    from recipe.pasr.verl.agent_loop import PromptGroup

    group = PromptGroup("u", 2, False, RewardConfig(judge_failure_policy="raise"))
    for session, sample in enumerate([SampleScore(acc=1.0), SampleScore(judge_failed=True, scorer="judge")]):
        info = {"reward_extra_info": sample_record(sample)}
        output = AgentLoopOutput(prompt_ids=[1], response_ids=[2], response_mask=[1], metrics=AgentLoopMetrics())
        output.extra_fields = info
        group.add(session, output)
    assert group.ready.is_set() and isinstance(group.error, JudgeFailureError)


def test_judge_metrics_every_step_include_paired_baselines(env):
    """pasr/judge/* per step from the requests of the step's responses and baselines; baseline failures count."""
    config = compose_config(
        env.model_dir,
        "pasr.reward.baseline=paired",
        "pasr.paired_samples=3",
        "pasr.judge_backend=external",
        f"pasr.judge.url={env.judge.url}",
        "pasr.judge.model=fake-judge",
        "pasr.judge.max_retries=0",
    )
    script = {("12", "pasr"): [REFINE_RIGHT] * 4 + [PLAIN_WRONG] * 4, ("12", "standard"): ["12", "18", "42"]}
    # A question no other test asks: the module's reward worker remembers verdicts (deduplication).
    records = [record("what is 12 for the metrics", "12", "drop")]
    groups = env.run(env.manager(config, script), env.batch(config, records), "train")
    (group,) = groups.values()
    assert all(row["scorer"] == "judge" for row in group)
    metrics = env.last_metrics
    # Distinct judged answers 12, 18 and 42 (policy and baseline alike); identical ones share a verdict.
    assert metrics["pasr/judge/requests"] == 3.0
    assert metrics["pasr/judge/deduplicated"] == 8.0  # 8 policy + 3 baseline answers, 3 requests
    assert metrics["pasr/judge/failures/unparsable"] == 1.0  # the baseline answer 42: the judge says "maybe"
    assert metrics["pasr/judge_failures"] == 1.0  # a baseline's judge failure is a judge failure
    assert metrics["pasr/judge/retries"] == 0.0 and metrics["pasr/judge/failures/timeout"] == 0.0
    assert 0.0 < metrics["pasr/judge/latency_p50_s"] <= metrics["pasr/judge/latency_p95_s"] < 5.0
    assert 1.0 <= metrics["pasr/judge/max_in_flight"] <= 3.0
    assert env.last_metrics is metrics and {r["baseline"] for r in group} == {0.5}  # 12 right, 18 wrong, 42 failed


def test_judge_concurrency_is_the_jobs_total_across_reward_workers(env):
    """pasr.judge.max_concurrency bounds the requests in flight at the judge over all reward-loop workers."""
    from verl import DataProto
    from verl.experimental.reward_loop import RewardLoopWorker

    from tests.fakes.judge_server import fixed_responder

    workers_count, total = 2, 3
    with serve_in_thread(lambda request: fixed_responder("1", latency_s=1.0)) as slow_judge:
        config = compose_config(
            env.model_dir,
            f"reward.num_workers={workers_count}",
            "pasr.judge_backend=external",
            f"pasr.judge.url={slow_judge.url}",
            "pasr.judge.model=fake-judge",
            f"pasr.judge.max_concurrency={total}",
            "pasr.judge.deduplicate=false",
        )
        # verl's reward-loop workers, named as RewardLoopManager names them, in a namespace of their own
        # (this module's Env already holds reward_loop_worker_0).
        workers = [
            ray.remote(RewardLoopWorker).options(name=f"reward_loop_worker_{i}", namespace="judge_limit").remote(config)
            for i in range(workers_count)
        ]
        prompt = env.ids("what is 12")
        response = env.ids(PLAIN_RIGHT)

        def sample(index: int) -> DataProto:
            return one_response(
                prompt,
                response,
                data_source="drop",
                reward_model={"ground_truth": "12"},
                extra_info={"question": f"question {index}"},
                uid=f"u{index}",
            )

        results = ray.get([workers[i % workers_count].compute_score.remote(sample(i)) for i in range(12)])
        assert all(result["reward_extra_info"]["acc"] == 1.0 for result in results)
        # 6 requests of 1 s per worker, shares 2 + 1: the judge saw exactly the job's total, never more.
        assert slow_judge.max_in_flight == total
        for worker in workers:
            ray.kill(worker)


def clear_partition(partition: str) -> None:
    keys = list(tq.kv_list().get(partition, {}))
    if keys:
        tq.kv_clear(keys=keys, partition_id=partition)


def _failing_trainer(env, monkeypatch, mode: str, records: list[dict]):
    """A PASR trainer of ``mode`` whose dataloader keeps giving ``records``, with the real group hook."""
    from verl.trainer.ppo.v1 import PPOTrainer

    overrides = [f"trainer.v1.trainer_mode={mode}", "actor_rollout_ref.rollout.n=2", "data.train_batch_size=2"]
    config = compose_config(env.model_dir, *overrides)
    trainer = PASR_TRAINERS[mode](config)
    trainer.global_steps = 1
    trainer.agent_loop_manager = env.manager(config, {("12", "pasr"): [PLAIN_RIGHT], ("72", "pasr"): [PLAIN_RIGHT]})
    monkeypatch.setattr(PPOTrainer, "_next_train_batch", lambda self, num=None: env.batch(config, records))
    return trainer


def without_ground_truth(question: str) -> dict:
    return record(question, "#### 12") | {"reward_model": {"style": "rule"}}


@pytest.mark.parametrize(
    ("unscorable", "expected"),
    [
        ([record("what is 12", "#### 12", "no_such_source"), record("what is 72", "#### 12", "no_such_source")],
         "no_such_source"),
        ([without_ground_truth("what is 12"), without_ground_truth("what is 72")],
         "missing field reward_model.ground_truth"),
    ],
    ids=["unknown_data_source", "missing_field"],
)  # fmt: skip
def test_async_mode_stops_on_reward_errors_while_sampling(env, monkeypatch, unscorable: list[dict], expected: str):
    """Every group fails (an unknown data_source or a field missing from every record): verl's async replay
    buffer evicts and refills forever; the PASR trainer stops it, with the first errors' text, within a bound."""
    import threading

    from verl.trainer.ppo.v1.replay_buffer import ReplayBufferAsync

    trainer = _failing_trainer(env, monkeypatch, "pasr_colocate_async", unscorable)
    assert isinstance(trainer.replay_buffer, ReplayBufferAsync)
    trainer._add_batch_to_generate()
    outcome: list[BaseException] = []

    def sample() -> None:
        try:
            trainer.replay_buffer.sample(global_steps=1, partition_id="train", batch_size=2)
        except BaseException as error:
            outcome.append(error)

    started = time.monotonic()
    thread = threading.Thread(target=sample, daemon=True)  # on failure to stop, it would spin forever
    thread.start()
    thread.join(timeout=30)
    assert outcome, "sampling did not stop within 30 s"
    assert isinstance(outcome[0], PasrRewardError) and expected in str(outcome[0])
    assert time.monotonic() - started < 30
    clear_partition("train")


def test_sync_mode_never_trains_on_a_batch_with_failed_groups(env, monkeypatch):
    """One group of two fails: the step stops after sampling, before any update, naming the record."""
    records = [record("what is 12", "#### 12"), record("what is 72", "#### 12", "no_such_source")]
    trainer = _failing_trainer(env, monkeypatch, "pasr_sync", records)
    monkeypatch.setattr(type(trainer), "_balance_batch", lambda *args, **kwargs: pytest.fail("trained on it"))
    with pytest.raises(PasrRewardError, match="no_such_source"):
        trainer.step({}, {})
    clear_partition("train")


def test_greedy_validation_generates_one_paired_baseline(env):
    """verl validates greedily by default: k standard responses would be identical, so one is generated."""
    config = compose_config(env.model_dir, "pasr.reward.baseline=paired", "pasr.paired_samples=3")
    script = {("12", "pasr"): [REFINE_RIGHT, PLAIN_RIGHT], ("12", "standard"): ["12", "18", "18"]}
    manager = env.manager(config, script)
    groups = env.run(manager, env.batch(config, [record("what is 12", "#### 12")], validate=True), "val")
    (group,) = groups.values()
    assert {row["baseline"] for row in group} == {1.0}  # the first standard response only (three: 1/3)
    assert manager.take_errors() == []


def test_a_record_choosing_another_agent_loop_is_refused(env):
    """A tool agent loop's output would be decoded as part of the answer: the record's group fails, named."""
    manager = env.manager(env.base_config, {("12", "pasr"): [PLAIN_RIGHT]})
    batch = env.batch(env.base_config, [record("what is 12", "#### 12") | {"agent_name": "tool_agent"}])
    (uid,) = env.submit(manager, batch, "train")
    assert wait_for_status(uid, "train") == "failure"
    assert not [key for key in tq.kv_list()["train"] if key.startswith(f"{uid}_")]  # no session was written
    errors = manager.take_errors()
    assert errors and all("agent_name='tool_agent' is not supported by PASR" in error for error in errors)
    clear_partition("train")


def wait_for_status(uid: str, partition: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while tq.kv_list()[partition][uid]["status"] not in ("finished", "failure") and time.monotonic() < deadline:
        time.sleep(0.05)
    return tq.kv_list()[partition][uid]["status"]


def test_a_prompt_uid_arriving_twice_in_one_worker_is_an_error(env):
    """The second prompt with a running prompt's uid would join its group and overwrite its rows: it is refused,
    named, and the first group is written with its own final rewards."""
    config = compose_config(env.model_dir, "actor_rollout_ref.rollout.n=2")
    manager = env.manager(config, {("12", "pasr"): [REFINE_RIGHT, PLAIN_WRONG], ("72", "pasr"): [PLAIN_RIGHT] * 2})
    uid = f"dup-{uuid.uuid4().hex}"
    batch = env.batch(config, [record("what is 12", "#### 12"), record("what is 72", "#### 12")], uids=[uid, uid])
    tag = {"is_prompt": True, "status": "pending", "global_steps": 1}
    tq.kv_batch_put(keys=[uid], partition_id="train", tags=[tag])  # one key: verl's put of the batch's uids
    manager.generate_sequences(batch)
    assert wait_for_status(uid, "train") == "finished"
    errors = manager.take_errors()
    assert errors == [f"uid {uid}: ValueError: record uid={uid}: prompt uid arrived twice in one agent-loop worker "
                      "while its first group is still running; PASR groups a prompt's sessions by uid, so each "
                      "prompt needs a unique uid"]  # fmt: skip
    keys = [key for key in tq.kv_list()["train"] if key.startswith(f"{uid}_")]
    rows = tq.kv_batch_get(keys=keys, partition_id="train", select_fields=["extra_fields", "rm_scores"])
    records = [row["reward_extra_info"] for row in rows.pop("extra_fields").tolist()]
    assert len(records) == 2 and {r["refine_outcome"] for r in records} == {"win", None}  # the first prompt's
    assert sorted(rows["rm_scores"].to_padded_tensor(padding=0.0).sum(dim=-1).tolist()) == pytest.approx([1.0, 3.0])
    clear_partition("train")


def test_single_response_validation_reports_accuracy_and_refine_rate_without_a_bonus(env):
    """verl's default validation (one greedy response) has nothing to compare a refinement with: the bonus is
    None (not a fake 0), so verl's validation metrics report acc and is_refine and no bonus metrics."""
    config = compose_config(env.model_dir)
    config.actor_rollout_ref.rollout.val_kwargs.n = 1
    manager = env.manager(config, {("12", "pasr"): [REFINE_RIGHT], ("72", "pasr"): [PLAIN_WRONG]})
    records = [record("what is 12", "#### 12"), record("what is 72", "#### 12")]
    groups = env.run(manager, env.batch(config, records, validate=True), "val")
    assert sorted(len(group) for group in groups.values()) == [1, 1]
    rows = [row for group in groups.values() for row in group]
    for row in rows:
        assert (row["refine_bonus"], row["refine_outcome"], row["baseline"]) == (None, None, None)
        assert row["baseline_source"] == "not_computed_single_response"
    assert sorted(row["rm_score"] for row in rows) == pytest.approx([1.0, 2.0])  # format + acc, nothing added
    keys = [key for key in rows[0] if key not in ("text", "key", "rm_score")]
    infos = {key: [row[key] for row in rows] for key in keys}
    per_source = process_validation_metrics(["gsm8k"] * 2, list(groups), infos)["gsm8k"]
    assert per_source["acc"]["mean@1"] == pytest.approx(0.5)
    assert per_source["is_refine"]["mean@1"] == pytest.approx(0.5)
    assert "refine_bonus" not in per_source and "baseline" not in per_source
    assert manager.take_errors() == []


@pytest.mark.parametrize(
    ("field", "data_source"),
    [("reward_model.ground_truth", "gsm8k"), ("extra_info.question", "drop")],  # drop is judged: needs the question
)
def test_sync_mode_stops_on_a_record_missing_a_field(env, monkeypatch, field: str, data_source: str):
    """A field missing from one record (read back from parquet as None) is an error naming the record and the
    field, and the step stops before any update; it is never scored as the text "None" or a blank question."""
    broken = record("what is 72", "12", data_source, index=7)
    if field == "reward_model.ground_truth":
        broken["reward_model"] = {"style": "rule"}
    else:
        del broken["extra_info"]["question"]
    records = [record("what is 12", "12", data_source), broken]
    trainer = _failing_trainer(env, monkeypatch, "pasr_sync", records)
    monkeypatch.setattr(type(trainer), "_balance_batch", lambda *args, **kwargs: pytest.fail("trained on it"))
    named = rf"uid (\S+): ValueError: record uid=\1 extra_info.index=7: missing field {field}\b"  # the prompt uid
    with pytest.raises(PasrRewardError, match=named):
        trainer.step({}, {})
    clear_partition("train")
