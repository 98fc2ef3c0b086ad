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

"""PASR training metrics for verl's V1 trainers.

verl 0.9.1 aggregates ``reward_extra_info`` for validation only. These trainer subclasses add the
``pasr/*`` refinement metrics to every training step: after verl's own metrics, they read the step's
``extra_fields`` from TransferQueue (one read per step, after the update, off the rollout path) and
summarise them with :mod:`recipe.pasr.metrics`, with the paired baselines' records (pulled from the
agent-loop workers: baselines never reach TransferQueue) and the judge request metrics. The judge
failure rate is checked over the whole job's judged responses here, in one place, not per worker.

They also stop training on errors the group hook collected (a record that cannot be scored, a judge
failure under ``judge_failure_policy=raise``, a failed baseline), which verl would otherwise log while
training on the rest, or, in the async modes, never report: verl evicts and refills failed groups, so
with every group failing sampling would never return. The errors are checked while the replay buffer
waits (its refill, at most once a second), right after a batch is sampled and before any update (a
batch with a failed group is never trained on), when verl's sampling itself fails (its "no
materializable trajectories" becomes the PASR errors) and after each step.

verl picks the trainer by name (``trainer.v1.trainer_mode``) from a registry in the TaskRunner's Ray
process, so the classes must be registered there before it looks: ``+recipe=pasr`` sets Ray's
``worker_process_setup_hook`` to :mod:`recipe.pasr.verl.setup_hook`, which calls :func:`register_trainers`
in each process that imports verl's trainer package. The PASR modes are ``pasr_sync``,
``pasr_colocate_async`` and ``pasr_separate_async``; each behaves exactly like verl's mode of the same name
without the prefix (the config's ``trainer_mode`` is mapped back before verl reads it).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import transfer_queue as tq
from omegaconf import open_dict
from verl.trainer.ppo.v1 import (
    PPOTrainer,
    PPOTrainerColocateAsync,
    PPOTrainerSeparateAsync,
    PPOTrainerSync,
    register_trainer,
)
from verl.trainer.ppo.v1.trainer_base import TRAINER_REGISTRY

from recipe.pasr.metrics import summarize
from recipe.pasr.reward import JudgeFailureMonitor, sample_from_record
from recipe.pasr.verl.config import TRAINER_MODE_PREFIX, TRAINER_MODES, load_pasr_config


class PasrMetricsMixin:
    """Adds ``pasr/*`` metrics and surfaces reward-path errors; otherwise the base trainer unchanged."""

    def __init__(self, config: Any) -> None:
        mode = config.trainer.v1.trainer_mode
        if mode.startswith(TRAINER_MODE_PREFIX):
            with open_dict(config):
                config.trainer.v1.trainer_mode = mode.removeprefix(TRAINER_MODE_PREFIX)
        reward = load_pasr_config(config).reward
        self._judge_monitor = JudgeFailureMonitor(reward.judge_failure_max_rate, reward.judge_failure_min_count)
        self._next_error_check = 0.0
        super().__init__(config)  # type: ignore[call-arg]

    def step(self, metrics: dict, timing_raw: dict) -> Any:
        try:
            return super().step(metrics, timing_raw)  # type: ignore[misc]
        except PasrRewardError:
            raise
        except Exception as error:
            # e.g. verl's "no materializable trajectories" when every group failed: the cause is ours to say.
            self._raise_on_reward_errors(cause=error)
            raise

    def on_sample_end(self) -> None:
        """The batch is sampled, nothing trained yet: a batch with failed groups is never trained on."""
        super().on_sample_end()  # type: ignore[misc]
        self._raise_on_reward_errors()

    def _add_prompts_to_generate(self, num_prompts: int) -> int:
        """The replay buffer's refill, called while it waits for groups (async modes evict failed ones and
        refill; if every group fails it never returns): errors stop training here, at most once a second."""
        if time.monotonic() >= self._next_error_check:
            self._next_error_check = time.monotonic() + ERROR_CHECK_INTERVAL_S
            self._raise_on_reward_errors()
        return super()._add_prompts_to_generate(num_prompts)  # type: ignore[misc]

    def _log_rollout_data(self, batch: Any, timing_raw: dict, rollout_data_dir: str) -> None:
        # verl's training dump (trainer.rollout_data_dir) has no reward_extra_info; keep the step's PASR
        # components by key so _dump_generations can add them as columns.
        self._pasr_dump_records = dict(zip(*reward_records(batch), strict=True))
        super()._log_rollout_data(batch, timing_raw, rollout_data_dir)  # type: ignore[misc]

    def _dump_generations(
        self, inputs: Any, outputs: Any, gts: Any, scores: Any, reward_extra_infos_dict: dict, dump_path: str
    ) -> None:
        records = self.__dict__.pop("_pasr_dump_records", None)
        if records is not None:  # a training dump, rows keyed by verl's {uid}_{session}_{index}
            rows = [records.get(key, {}) for key in reward_extra_infos_dict["uid"]]  # padding rows have none
            names = dict.fromkeys(name for row in rows for name in row if name != "score")  # verl's score stays
            columns = {name: [row.get(name) for row in rows] for name in names}
            reward_extra_infos_dict = {**columns, **reward_extra_infos_dict}
        super()._dump_generations(inputs, outputs, gts, scores, reward_extra_infos_dict, dump_path)  # type: ignore[misc]

    def _compute_metrics(self, batch: Any, metrics: dict, timing_raw: dict, global_steps: int, epoch: int) -> None:
        super()._compute_metrics(batch, metrics, timing_raw, global_steps, epoch)  # type: ignore[misc]
        self._raise_on_reward_errors()
        _, records = reward_records(batch)
        records += self.agent_loop_manager.take_baseline_records()  # type: ignore[attr-defined]
        if records:  # a step with no responses (nothing sampled) has no pasr/* metrics
            metrics.update(summarize(records))
        for record in records:  # one failure rate over the whole job's judged responses, baselines included
            self._judge_monitor.record(sample_from_record(record))

    def _raise_on_reward_errors(self, cause: BaseException | None = None) -> None:
        """Stop training on the first errors the reward path collected (see the module docstring)."""
        errors = self.agent_loop_manager.take_errors()  # type: ignore[attr-defined]
        if errors:
            step = self.global_steps  # type: ignore[attr-defined]
            message = f"PASR reward path failed at step {step} ({len(errors)} error(s)): " + "; ".join(errors[:5])
            raise PasrRewardError(message) from cause


class PasrRewardError(RuntimeError):
    """Errors of the reward path (unscorable records, judge failures under policy raise, ...): training stops."""


def reward_records(batch: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """The step's non-padding trajectory keys and their PASR reward records, read from TransferQueue."""
    keep = np.array([not tag.get("is_padding", False) for tag in batch.tags], dtype=bool)
    keys = [key for key, kept in zip(batch.keys, keep, strict=True) if kept]
    if not keys:
        return [], []
    data = tq.kv_batch_get(keys=keys, partition_id=batch.partition_id, select_fields=["extra_fields"])
    return keys, [fields.get("reward_extra_info", {}) for fields in data.pop("extra_fields").tolist()]


def _pasr_trainer(base: type[PPOTrainer]) -> type[PPOTrainer]:
    return type(f"Pasr{base.__name__}", (PasrMetricsMixin, base), {"__module__": __name__})


ERROR_CHECK_INTERVAL_S = 1.0  # how often the replay buffer's refill asks the agent-loop workers for errors

PASR_TRAINERS: dict[str, type[PPOTrainer]] = {
    f"{TRAINER_MODE_PREFIX}{mode}": _pasr_trainer(base)
    for mode, base in zip(
        TRAINER_MODES, (PPOTrainerSync, PPOTrainerColocateAsync, PPOTrainerSeparateAsync), strict=True
    )
}


def register_trainers() -> None:
    """Register the PASR trainer modes in this process's trainer registry (idempotent)."""
    for name, cls in PASR_TRAINERS.items():
        if TRAINER_REGISTRY.get(name) is not cls:
            register_trainer(name)(cls)
