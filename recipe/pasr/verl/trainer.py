"""PASR training metrics for verl's V1 trainers.

verl 0.9.1 aggregates ``reward_extra_info`` for validation only. These trainer subclasses add the
``pasr/*`` refinement metrics to every training step: after verl's own metrics, they read the step's
``extra_fields`` from TransferQueue (one read per step, after the update, off the rollout path) and
summarise them with :mod:`recipe.pasr.metrics`. They also stop training on errors the group hook
collected (a judge failing past its threshold, a record that cannot be scored), which verl would
otherwise only log while training on the rest.

verl picks the trainer by name (``trainer.v1.trainer_mode``) from a registry in the TaskRunner's Ray
process, so the classes must be registered there before it looks: ``+recipe=pasr`` sets Ray's
``worker_process_setup_hook`` to :func:`register_trainers`, which imports this module in every Ray
worker process. The PASR modes are ``pasr_sync``, ``pasr_colocate_async`` and
``pasr_separate_async``; each behaves exactly like verl's mode of the same name without the prefix
(the config's ``trainer_mode`` is mapped back before verl reads it).
"""

from __future__ import annotations

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
from recipe.pasr.verl.config import TRAINER_MODE_PREFIX, TRAINER_MODES


class PasrMetricsMixin:
    """Adds ``pasr/*`` metrics and surfaces reward-path errors; otherwise the base trainer unchanged."""

    def __init__(self, config: Any) -> None:
        mode = config.trainer.v1.trainer_mode
        if mode.startswith(TRAINER_MODE_PREFIX):
            with open_dict(config):
                config.trainer.v1.trainer_mode = mode.removeprefix(TRAINER_MODE_PREFIX)
        super().__init__(config)  # type: ignore[call-arg]

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
        metrics.update(step_metrics(batch))
        take_errors = getattr(self.agent_loop_manager, "take_errors", None)  # type: ignore[attr-defined]
        errors = take_errors() if take_errors is not None else []
        if errors:
            raise RuntimeError(f"PASR reward path failed at step {global_steps}: " + "; ".join(errors[:5]))


def reward_records(batch: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """The step's non-padding trajectory keys and their PASR reward records, read from TransferQueue."""
    keep = np.array([not tag.get("is_padding", False) for tag in batch.tags], dtype=bool)
    keys = [key for key, kept in zip(batch.keys, keep, strict=True) if kept]
    if not keys:
        return [], []
    data = tq.kv_batch_get(keys=keys, partition_id=batch.partition_id, select_fields=["extra_fields"])
    return keys, [fields.get("reward_extra_info", {}) for fields in data.pop("extra_fields").tolist()]


def step_metrics(batch: Any) -> dict[str, float]:
    """``pasr/*`` metrics over the step's non-padding trajectories."""
    _, records = reward_records(batch)
    return summarize(records) if records else {}


def _pasr_trainer(base: type[PPOTrainer]) -> type[PPOTrainer]:
    return type(f"Pasr{base.__name__}", (PasrMetricsMixin, base), {"__module__": __name__})


PASR_TRAINERS: dict[str, type[PPOTrainer]] = {
    f"{TRAINER_MODE_PREFIX}{mode}": _pasr_trainer(base)
    for mode, base in zip(
        TRAINER_MODES, (PPOTrainerSync, PPOTrainerColocateAsync, PPOTrainerSeparateAsync), strict=True
    )
}


def register_trainers() -> None:
    """Ray ``worker_process_setup_hook``: register the PASR trainer modes in this process (idempotent)."""
    for name, cls in PASR_TRAINERS.items():
        if TRAINER_REGISTRY.get(name) is not cls:
            register_trainer(name)(cls)
