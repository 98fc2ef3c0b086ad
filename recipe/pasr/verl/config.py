"""The ``pasr`` section of the verl config, as a dataclass.

``conf/recipe/pasr.yaml`` writes this section; every verl-side PASR component reads it through
:func:`load_pasr_config`, so a typo in a key fails at start-up instead of being ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from omegaconf import DictConfig, OmegaConf

from recipe.pasr.reward import RewardConfig
from recipe.pasr.scoring.sample import JudgeTarget, ScorerMode

AGENT_LOOP_MANAGER = "recipe.pasr.verl.agent_loop.PasrAgentLoopManager"


class JudgeBackend(StrEnum):
    NONE = "none"  # rule scorers only
    EXTERNAL = "external"  # any OpenAI-compatible endpoint at ``judge.url``
    VERL = "verl"  # a generative model served by verl itself (``reward.reward_model``)


@dataclass
class PasrConfig:
    scorer: ScorerMode = ScorerMode.AUTO
    judge_target: JudgeTarget = JudgeTarget.ANSWER
    judge_backend: JudgeBackend = JudgeBackend.NONE
    # Keyword arguments of recipe.pasr.scoring.judge.JudgeConfig (url/model filled per backend).
    judge: dict[str, Any] = field(default_factory=dict)
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
            self.reward = _build(RewardConfig, self.reward, "pasr.reward")
        if self.paired_samples < 1:
            raise ValueError(f"pasr.paired_samples must be >= 1, got {self.paired_samples}")
        if self.prompt_tail_tokens < 0:
            raise ValueError(f"pasr.prompt_tail_tokens must be >= 0, got {self.prompt_tail_tokens}")
        if self.judge_backend is JudgeBackend.EXTERNAL and not (self.judge.get("url") and self.judge.get("model")):
            raise ValueError("pasr.judge_backend=external needs pasr.judge.url and pasr.judge.model")
        if self.judge_backend is JudgeBackend.NONE and self.scorer in (ScorerMode.JUDGE, ScorerMode.FALLBACK):
            raise ValueError(f"pasr.scorer={self.scorer} needs a judge: set pasr.judge_backend to external or verl")


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in {where}; known: {sorted(known)}")
    return cls(**values)


def load_pasr_config(config: DictConfig) -> PasrConfig:
    """Read ``config.pasr`` (all defaults when absent) and check the verl settings PASR relies on."""
    section = config.get("pasr")
    values = OmegaConf.to_container(section, resolve=True) if section is not None else {}
    assert isinstance(values, dict)
    return _build(PasrConfig, values, "pasr")


def check_verl_settings(config: DictConfig) -> None:
    """Fail at start-up when verl is configured so that the group reward would silently not apply."""
    manager = config.actor_rollout_ref.rollout.get("agent", {}).get("agent_loop_manager_class")
    if not config.trainer.get("use_v1", True) or manager != AGENT_LOOP_MANAGER:
        raise ValueError(
            "the PASR reward needs verl's V1 trainer (trainer.use_v1=true) with "
            f"actor_rollout_ref.rollout.agent.agent_loop_manager_class={AGENT_LOOP_MANAGER}: without it the "
            "refinement bonus (a group-level reward) would never be applied. Use +recipe=pasr."
        )
    reward_model = config.reward.reward_model
    if reward_model.enable and not reward_model.enable_resource_pool:
        raise ValueError(
            "PASR scores while rollout runs (reward-loop workers); a colocated reward model turns that off. "
            "Set reward.reward_model.enable_resource_pool=true to serve the judge in its own resource pool."
        )
