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

"""The ``pasr`` section of the verl config, as a dataclass, and the verl settings PASR depends on.

``conf/recipe/pasr.yaml`` writes this section; every verl-side PASR component reads it through
:func:`check_job_config`, and so does the driver process right after Hydra composes the config
(:mod:`recipe.pasr.verl.hydra_check`), so a typo, a bad value or a verl setting that would silently
bypass the PASR reward fails in seconds, before Ray starts, with the key and the allowed values.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from recipe.pasr.enums import StrEnum
from recipe.pasr.reward import RewardConfig
from recipe.pasr.scoring.judge import JudgeConfig, JudgeOptions
from recipe.pasr.scoring.sample import DEFAULT_JUDGE_TARGET, DEFAULT_SCORER, JudgeTarget, ScorerMode

AGENT_LOOP_MANAGER = "recipe.pasr.verl.agent_loop.PasrAgentLoopManager"
REWARD_MANAGER_PATH = "pkg://recipe.pasr.verl.reward_manager"
REWARD_MANAGER_NAME = "PasrRewardManager"
ROUTING_FUNCTION_NAME = "route_to_reward_manager"  # lives in the reward manager's module
TRAINER_MODE_PREFIX = "pasr_"
TRAINER_MODES = ("sync", "colocate_async", "separate_async")  # verl's V1 modes, each wrapped as pasr_<mode>
REGISTER_TRAINERS_HOOK = "recipe.pasr.verl.setup_hook.register_trainers_on_import"
SINGLE_TURN_AGENT_LOOP = "single_turn_agent"


class PasrConfigError(ValueError):
    """A bad PASR setting; the message names the full key, the bad value and what is allowed."""


class JudgeBackend(StrEnum):
    NONE = "none"  # rule scorers only
    EXTERNAL = "external"  # any OpenAI-compatible endpoint at ``judge.url``
    VERL = "verl"  # a generative model served by verl itself (``reward.reward_model``)


@dataclass
class JudgeSettings(JudgeOptions):
    """``pasr.judge``: a :class:`JudgeConfig` whose ``url`` and ``model`` may be left to the backend
    (``judge_backend=verl`` serves the judge itself); :meth:`config` completes it."""

    url: str | None = None
    model: str | None = None

    def config(self, **endpoint: Any) -> JudgeConfig:
        """The client configuration: these settings with ``endpoint`` (e.g. ``url``, ``model``) put in."""
        return JudgeConfig(**{f.name: getattr(self, f.name) for f in fields(self)} | endpoint)


@dataclass
class PasrConfig:
    scorer: ScorerMode = DEFAULT_SCORER
    judge_target: JudgeTarget = DEFAULT_JUDGE_TARGET
    judge_backend: JudgeBackend = JudgeBackend.NONE
    # recipe.pasr.scoring.judge.JudgeConfig's settings (url/model filled per backend).
    judge: JudgeSettings = field(default_factory=JudgeSettings)
    # Standard-prompt responses generated per prompt in ``paired`` baseline mode.
    paired_samples: int = 8
    # Prompt tokens decoded with each response, so templates that pre-open <think> parse correctly.
    prompt_tail_tokens: int = 8
    reward: RewardConfig = field(default_factory=RewardConfig)

    def __post_init__(self) -> None:
        self.scorer = ScorerMode(self.scorer)
        self.judge_target = JudgeTarget(self.judge_target)
        self.judge_backend = JudgeBackend(self.judge_backend)
        if isinstance(self.reward, dict):
            self.reward = build_checked(RewardConfig, self.reward, "pasr.reward")
        if isinstance(self.judge, dict):
            self.judge = build_checked(JudgeSettings, self.judge, "pasr.judge")
        if self.paired_samples < 1:
            raise PasrConfigError(f"pasr.paired_samples must be >= 1, got {self.paired_samples}")
        if self.prompt_tail_tokens < 0:
            raise PasrConfigError(f"pasr.prompt_tail_tokens must be >= 0, got {self.prompt_tail_tokens}")
        if self.judge_backend is JudgeBackend.EXTERNAL and not (self.judge.url and self.judge.model):
            raise PasrConfigError(
                "pasr.judge_backend=external needs pasr.judge.url and pasr.judge.model "
                "(the per-model recipes read them from $PASR_JUDGE_URL and $PASR_JUDGE_MODEL)"
            )
        if self.judge_backend is JudgeBackend.NONE and self.scorer in (ScorerMode.JUDGE, ScorerMode.FALLBACK):
            raise PasrConfigError(
                f"pasr.scorer={self.scorer.value} needs a judge: set pasr.judge_backend to external or verl"
            )


def build_checked(cls: type, values: dict[str, Any], where: str) -> Any:
    """``cls(**values)``, refusing unknown keys and values of the wrong kind with the full key named.

    The dataclasses' own ``__post_init__`` checks still run; their messages are prefixed with ``where``.
    """
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        names = ", ".join(f"{where}.{key}" for key in unknown)
        raise PasrConfigError(f"unknown key(s) {names}; known keys of {where}: {', '.join(sorted(known))}")
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        _check_value(f"{where}.{name}", hints[name], value)
    try:
        return cls(**values)
    except PasrConfigError:
        raise
    except ValueError as error:
        message = str(error)
        raise PasrConfigError(message if message.startswith(where) else f"{where}: {message}") from None


def _check_value(key: str, hint: Any, value: Any) -> None:
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        allowed = [member.value for member in hint]
        if value not in allowed:
            raise PasrConfigError(f"{key}={value!r} is not allowed; allowed values: {', '.join(allowed)}")
        return
    expected = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}.get(hint)
    if is_dataclass(hint):
        expected = (dict, hint)
    if expected is not None and (not isinstance(value, expected) or (hint is not bool and isinstance(value, bool))):
        raise PasrConfigError(f"{key}={value!r} must be of type {getattr(hint, '__name__', hint)}")


def load_pasr_config(config: DictConfig) -> PasrConfig:
    """Read ``config.pasr`` (all defaults when absent), checked against the dataclasses."""
    section = config.get("pasr")
    values = OmegaConf.to_container(section, resolve=True) if section is not None else {}
    if not isinstance(values, dict):
        raise PasrConfigError(f"pasr must be a mapping, got {values!r}")
    return build_checked(PasrConfig, values, "pasr")


def check_job_config(config: DictConfig) -> PasrConfig:
    """The ``pasr`` section and the verl settings it depends on; what every PASR component starts with."""
    pasr = load_pasr_config(config)
    check_verl_settings(config, pasr)
    return pasr


def check_verl_settings(config: DictConfig, pasr: PasrConfig) -> None:
    """Fail when verl is configured so that the PASR reward would silently not apply, or apply wrongly."""
    rollout = config.actor_rollout_ref.rollout
    agent = rollout.get("agent") or {}
    if not config.trainer.get("use_v1", True) or agent.get("agent_loop_manager_class") != AGENT_LOOP_MANAGER:
        raise PasrConfigError(
            "the PASR reward needs verl's V1 trainer (trainer.use_v1=true) with "
            f"actor_rollout_ref.rollout.agent.agent_loop_manager_class={AGENT_LOOP_MANAGER}: without it the "
            "refinement bonus (a group-level reward) would never be applied. Use +recipe=pasr."
        )
    manager = config.reward.reward_manager
    module_path = (manager.get("module") or {}).get("path")
    if (manager.get("source"), manager.get("name"), module_path) != (
        "importlib",
        REWARD_MANAGER_NAME,
        REWARD_MANAGER_PATH,
    ):
        raise PasrConfigError(
            "reward.reward_manager must load the PASR reward manager: source=importlib, "
            f"name={REWARD_MANAGER_NAME}, module.path={REWARD_MANAGER_PATH}; got source={manager.get('source')}, "
            f"name={manager.get('name')}, module.path={module_path}"
        )
    _check_reward_routing(config, pasr)
    _check_agent_loop(config)
    if pasr.judge_backend is not JudgeBackend.NONE:
        total = pasr.judge.max_concurrency
        workers = config.reward.num_workers
        if total < workers:
            raise PasrConfigError(
                f"pasr.judge.max_concurrency={total} is the job's total of judge requests in flight, split over "
                f"reward.num_workers={workers} reward-loop workers: it must be >= reward.num_workers"
            )


def check_launch_settings(config: DictConfig) -> None:
    """Settings only the driver sees as written: the PASR trainer rewrites ``trainer_mode`` once it runs."""
    mode = config.trainer.get("v1", {}).get("trainer_mode")
    allowed_modes = [TRAINER_MODE_PREFIX + name for name in TRAINER_MODES]
    if mode not in allowed_modes:
        raise PasrConfigError(
            f"trainer.v1.trainer_mode={mode!r} is not allowed with PASR; allowed values: {', '.join(allowed_modes)} "
            "(verl's mode of the same name plus pasr/* metrics and stopping on reward-path errors)"
        )
    if mode == TRAINER_MODE_PREFIX + "separate_async":
        _check_separate_async(config)
    runtime_env = config.get("ray_kwargs", {}).get("ray_init", {}).get("runtime_env", {})
    setup_hook = runtime_env.get("worker_process_setup_hook")
    if setup_hook != REGISTER_TRAINERS_HOOK:
        raise PasrConfigError(
            f"ray_kwargs.ray_init.runtime_env.worker_process_setup_hook must be {REGISTER_TRAINERS_HOOK} "
            f"(registers the pasr_* trainer modes in Ray's processes), got {setup_hook!r}"
        )


def _check_separate_async(config: DictConfig) -> None:
    """What verl's separate-async trainer asserts, said before Ray starts, with the keys to change."""
    rollout, actor = config.actor_rollout_ref.rollout, config.actor_rollout_ref.actor
    sync_step = config.trainer.v1.separate_async.parameter_sync_step
    problems = []
    if config.data.train_batch_size != sync_step * actor.ppo_mini_batch_size:
        problems.append(
            f"data.train_batch_size ({config.data.train_batch_size}) must equal "
            f"trainer.v1.separate_async.parameter_sync_step ({sync_step}) x "
            f"actor_rollout_ref.actor.ppo_mini_batch_size ({actor.ppo_mini_batch_size})"
        )
    if not rollout.nnodes > 0 or not rollout.n_gpus_per_node > 0:
        problems.append(
            "actor_rollout_ref.rollout.nnodes and n_gpus_per_node must be > 0 (the standalone rollout's GPUs); "
            f"got {rollout.nnodes} and {rollout.n_gpus_per_node}"
        )
    if rollout.checkpoint_engine.backend == "naive":
        problems.append("actor_rollout_ref.rollout.checkpoint_engine.backend must not be naive (e.g. nccl)")
    if problems:
        raise PasrConfigError("trainer.v1.trainer_mode=pasr_separate_async needs: " + "; ".join(problems))


def _check_reward_routing(config: DictConfig, pasr: PasrConfig) -> None:
    """verl's ``RewardLoopWorker`` calls the reward manager only if a custom reward function is named.

    With a served reward model and no custom function, it assumes a discriminative model, POSTs
    ``/classify`` and never calls ``PasrRewardManager``. The recipe names the routing marker; this
    refuses configs that drop it, or name another function (PasrRewardManager would never call it).
    """
    reward_model = config.reward.reward_model
    function = config.reward.get("custom_reward_function") or {}
    path, name = function.get("path"), function.get("name")
    routed = (path, name) == (REWARD_MANAGER_PATH, ROUTING_FUNCTION_NAME)
    if path is not None and not routed:
        raise PasrConfigError(
            f"reward.custom_reward_function={{path: {path}, name: {name}}} would never be called: the PASR reward "
            f"manager scores every sample. Leave it as +recipe=pasr sets it ({REWARD_MANAGER_PATH}, "
            f"{ROUTING_FUNCTION_NAME}), which only routes samples to the PASR reward manager"
        )
    if reward_model.enable and not routed:
        raise PasrConfigError(
            "reward.reward_model.enable=true needs reward.custom_reward_function.path="
            f"{REWARD_MANAGER_PATH} and reward.custom_reward_function.name={ROUTING_FUNCTION_NAME} (as +recipe=pasr "
            "sets them): without them verl treats the served model as a discriminative reward model, POSTs "
            "/classify and never calls the PASR reward manager"
        )
    if pasr.judge_backend is JudgeBackend.VERL and not (reward_model.enable and reward_model.model_path):
        raise PasrConfigError(
            "pasr.judge_backend=verl needs verl to serve the judge: set reward.reward_model.enable=true, "
            "reward.reward_model.enable_resource_pool=true and reward.reward_model.model_path"
        )
    if reward_model.enable and not reward_model.enable_resource_pool:
        raise PasrConfigError(
            "PASR scores while rollout runs (reward-loop workers); a colocated reward model turns that off. "
            "Set reward.reward_model.enable_resource_pool=true to serve the judge in its own resource pool."
        )


def _check_agent_loop(config: DictConfig) -> None:
    """PASR decodes the whole response as the policy's answer: tool output would be judged as its own text."""
    rollout = config.actor_rollout_ref.rollout
    agent = rollout.get("agent") or {}
    default_loop = agent.get("default_agent_loop", SINGLE_TURN_AGENT_LOOP)
    if default_loop != SINGLE_TURN_AGENT_LOOP:
        raise PasrConfigError(
            f"actor_rollout_ref.rollout.agent.default_agent_loop={default_loop!r} is not supported by PASR; "
            f"allowed values: {SINGLE_TURN_AGENT_LOOP} (a multi-turn or tool loop's tool output would be "
            "decoded and scored as part of the policy's answer)"
        )
    if (rollout.get("multi_turn") or {}).get("enable"):
        raise PasrConfigError(
            "actor_rollout_ref.rollout.multi_turn.enable=true is not supported by PASR: tool output would be "
            "decoded and scored as part of the policy's answer"
        )
