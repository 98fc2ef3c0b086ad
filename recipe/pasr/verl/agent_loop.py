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

"""The group hook: applies PASR's refinement bonus inside verl's V1 agent loop.

verl 0.9.1 runs all ``n`` sessions of a prompt in one ``AgentLoopWorkerTQ._run_prompt`` and lets each
session score itself (reward-loop worker) and write itself to TransferQueue. The bonus compares a
response with the rest of its group, so this worker makes each session wait, after scoring and before
its write, until every session of the prompt (and, in ``paired`` mode, the standard-prompt baseline)
has been scored; the last one to arrive computes the group reward once for all (pure computation,
microseconds) and every session then writes its final ``rm_scores``. Rollout is never blocked: a
session only waits after its generation is done, and the prompt's ``finished`` tag, which is what
makes a group visible to training, is published by verl only after all sessions wrote.

Select it with ``+actor_rollout_ref.rollout.agent.agent_loop_manager_class=``
``recipe.pasr.verl.agent_loop.PasrAgentLoopManager`` (``+recipe=pasr`` does).
"""

from __future__ import annotations

import asyncio
from typing import Any

import ray
from verl.experimental.agent_loop import AgentLoopOutput
from verl.trainer.ppo.v1.agent_loop_tq import AgentLoopManagerTQ, AgentLoopWorkerTQ

from recipe.pasr.loggers import get_logger
from recipe.pasr.reward import BaselineMode, RewardConfig, SampleScore, result_record, sample_from_record, score_group
from recipe.pasr.verl.config import SINGLE_TURN_AGENT_LOOP, check_job_config
from recipe.pasr.verl.reward_manager import ROLE_KEY

logger = get_logger(__name__)
RECORDED = "_pasr_error_recorded"  # set on an exception already in the worker's errors
BONUS_NOT_COMPUTED = "not_computed_single_response"  # baseline_source of a one-response in_group group
NO_BONUS_WARNING = (
    "PASR: a prompt with one response (verl's default greedy validation, val_kwargs.n=1) in "
    "pasr.reward.baseline=in_group mode has no sibling to compare with: its refinement bonus is not computed "
    f"(refine_bonus/refine_outcome/baseline are None, baseline_source={BONUS_NOT_COMPUTED!r}; validation "
    "reports acc and is_refine, no bonus metrics). For a validation bonus set "
    "actor_rollout_ref.rollout.val_kwargs.n>=2 with do_sample=true, or pasr.reward.baseline=paired."
)


class PromptGroup:
    """The sessions of one prompt, held until all are scored; then the group reward is applied once."""

    def __init__(
        self,
        uid: str,
        expected_sessions: int,
        expects_baseline: bool,
        config: RewardConfig,
        bonus_computed: bool = True,
    ) -> None:
        self.uid = uid
        self.config = config
        self.bonus_computed = bonus_computed
        self.remaining = expected_sessions + int(expects_baseline)
        self.outputs: dict[int, AgentLoopOutput] = {}
        self.settled_sessions: set[int] = set()
        self.baseline: list[SampleScore] = []
        self.ready = asyncio.Event()
        self.error: Exception | None = None  # why the group reward could not be applied

    def add(self, session_id: int, output: AgentLoopOutput) -> None:
        self.outputs[session_id] = output
        self._settle_session(session_id)

    def drop(self, session_id: int) -> None:
        """A session that failed before being scored: the others must not wait for it."""
        self._settle_session(session_id)

    def set_baseline(self, samples: list[SampleScore]) -> None:
        self.baseline = samples
        self._settle()

    def _settle_session(self, session_id: int) -> None:
        if session_id not in self.settled_sessions:
            self.settled_sessions.add(session_id)
            self._settle()

    def _settle(self) -> None:
        self.remaining -= 1
        if self.remaining == 0:
            try:
                self._apply()
            except Exception as error:  # e.g. judge_failure_policy=raise: every session fails, none waits forever
                self.error = error
            self.ready.set()

    def _apply(self) -> None:
        outputs = [self.outputs[session] for session in sorted(self.outputs)]
        policy = [sample_from_record(output.extra_fields["reward_extra_info"]) for output in outputs]
        results = score_group(policy + self.baseline, self.config)
        for output, sample, result in zip(outputs, policy, results, strict=False):
            record = result_record(sample, result)
            if not self.bonus_computed:  # None, not 0: verl's validation metrics skip None values
                record |= {"baseline": None, "baseline_source": BONUS_NOT_COMPUTED}
                record |= {"refine_bonus": None, "refine_outcome": None}
            output.extra_fields["reward_extra_info"] = record
            output.reward_score = result.score


class PasrAgentLoopWorkerImpl(AgentLoopWorkerTQ.__ray_actor_class__):  # type: ignore[name-defined]
    """``AgentLoopWorkerTQ`` plus the group hook and the paired baseline (see module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pasr = check_job_config(self.config)  # among others: no colocated reward model (turns streaming off)
        self.groups: dict[str, PromptGroup] = {}
        self.errors: list[str] = []
        self.baseline_records: list[dict[str, Any]] = []  # training baselines' scores, for the step metrics
        self._warned_no_bonus = False

    async def _run_prompt(self, prompt: dict, sampling_params: dict, trajectory: dict, trace: bool = False) -> None:
        uid, validate = prompt["uid"], trajectory["validate"]
        rollout = self.config.actor_rollout_ref.rollout
        # Same rule as the parent, which pops the key: peek before it does.
        n = prompt.get("__rollout_n__", rollout.val_kwargs.n if validate else rollout.n)
        if uid in self.groups:  # its sessions would join the running group and write its keys twice
            error = ValueError(
                f"record uid={uid}: prompt uid arrived twice in one agent-loop worker while its first group is "
                "still running; PASR groups a prompt's sessions by uid, so each prompt needs a unique uid"
            )
            logger.error("%s", error)
            self.errors.append(f"uid {uid}: {describe(error)}")
            return  # the first group is left intact; the trainer stops on the error
        paired = self.pasr.reward.baseline is BaselineMode.PAIRED
        # One validation response (verl's default greedy n=1) has no sibling: its bonus is not computed, not 0.
        bonus_computed = paired or n > 1 or not validate
        if not bonus_computed and not self._warned_no_bonus:
            self._warned_no_bonus = True
            logger.warning(NO_BONUS_WARNING)
        group = PromptGroup(uid, n, paired, self.pasr.reward, bonus_computed)
        self.groups[uid] = group
        baseline = (
            asyncio.create_task(self._paired_baseline(group, dict(prompt), sampling_params, trajectory))
            if paired
            else None
        )
        try:
            await super()._run_prompt(prompt, sampling_params, trajectory, trace)
        finally:
            if baseline is not None:
                await baseline
            self.groups.pop(uid, None)

    async def _run_agent_loop(self, sampling_params: dict, trajectory: dict, **kwargs: Any) -> Any:
        try:
            agent_name = kwargs.get("agent_name", SINGLE_TURN_AGENT_LOOP)
            if agent_name != SINGLE_TURN_AGENT_LOOP:  # a record may pick its own agent loop
                raise ValueError(
                    f"record uid={kwargs['uid']}: agent_name={agent_name!r} is not supported by PASR; allowed "
                    f"values: {SINGLE_TURN_AGENT_LOOP} (tool output would be scored as part of the answer)"
                )
            return await super()._run_agent_loop(sampling_params, trajectory, **kwargs)
        except BaseException as error:
            baseline = _is_baseline(kwargs)
            group = self.groups.get(kwargs["uid"])
            if group is not None and not baseline:
                group.drop(kwargs["session_id"])
            if isinstance(error, Exception) and not baseline and not getattr(error, RECORDED, False):
                self.errors.append(f"uid {kwargs['uid']}: {describe(error)}")  # e.g. generation
            raise

    async def _agent_loop_postprocess(self, output: Any, validate: bool, **kwargs: Any) -> Any:
        outputs = output if isinstance(output, list) else [output]
        try:
            await self._compute_score(outputs, kwargs=kwargs)
            if _is_baseline(kwargs):
                return outputs[-1]  # a baseline sample: scored, never written to TransferQueue
            group = self.groups[kwargs["uid"]]
            group.add(kwargs["session_id"], outputs[-1])
            await group.ready.wait()
            if group.error is not None:
                raise group.error
        except Exception as error:
            self.errors.append(f"uid {kwargs['uid']}: {describe(error)}")
            setattr(error, RECORDED, True)
            raise
        return await super()._agent_loop_postprocess(output, validate, **kwargs)

    async def _paired_baseline(self, group: PromptGroup, prompt: dict, sampling_params: dict, trajectory: dict) -> None:
        """Generate and score ``paired_samples`` standard-prompt responses; they only set the baseline.

        Greedy validation (verl's default ``val_kwargs.do_sample=false``) would give ``paired_samples``
        identical responses: it generates one.
        """
        greedy = trajectory["validate"] and not self.config.actor_rollout_ref.rollout.val_kwargs.get("do_sample")
        count = 1 if greedy else self.pasr.paired_samples
        samples: list[SampleScore] = []
        try:
            extra_info = dict(prompt.get("extra_info") or {})
            standard_prompt = extra_info.get("standard_prompt")
            if not standard_prompt:
                raise ValueError(f"record uid={group.uid} has no extra_info.standard_prompt (needed by paired mode)")
            prompt.pop("__rollout_n__", None)
            prompt.pop("__do_sample__", None)
            prompt["raw_prompt"] = list(standard_prompt)
            prompt["extra_info"] = extra_info | {ROLE_KEY: "standard"}
            results = await asyncio.gather(
                *(
                    self._run_agent_loop(sampling_params, trajectory, trace=False, session_id=-1 - index, **prompt)
                    for index in range(count)
                ),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, BaseException):
                    self.errors.append(f"uid {group.uid}: baseline generation failed: {result!r}")
                else:
                    record = result.extra_fields["reward_extra_info"]
                    samples.append(sample_from_record(record))
                    if not trajectory["validate"]:
                        self.baseline_records.append(record)
        except Exception as error:
            self.errors.append(f"uid {group.uid}: {error}")
            logger.exception("paired baseline failed for uid=%s", group.uid)
        finally:
            group.set_baseline(samples)

    async def take_errors(self) -> list[str]:
        """Errors seen since the last call (the trainer polls these and stops on them)."""
        errors, self.errors = self.errors, []
        return list(dict.fromkeys(errors))  # a group's error is raised by each of its sessions

    async def take_baseline_records(self) -> list[dict[str, Any]]:
        """Reward records of the training baselines scored since the last call (never in TransferQueue)."""
        records, self.baseline_records = self.baseline_records, []
        return records


def describe(error: BaseException) -> str:
    """An error's type and text; for an error raised in another Ray actor (the reward-loop worker), its cause's."""
    if isinstance(error, ray.exceptions.RayTaskError) and error.cause is not None:
        error = error.cause
    return f"{type(error).__name__}: {error}"


def _is_baseline(kwargs: dict) -> bool:
    return (kwargs.get("extra_info") or {}).get(ROLE_KEY) == "standard"


PasrAgentLoopWorker = ray.remote(PasrAgentLoopWorkerImpl)


class PasrAgentLoopManager(AgentLoopManagerTQ):
    """``AgentLoopManagerTQ`` whose workers apply the PASR group reward."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agent_loop_workers_class = PasrAgentLoopWorker

    def take_errors(self) -> list[str]:
        return [
            error for errors in ray.get([w.take_errors.remote() for w in self.agent_loop_workers]) for error in errors
        ]

    def take_baseline_records(self) -> list[dict[str, Any]]:
        workers = self.agent_loop_workers
        return [
            record for records in ray.get([w.take_baseline_records.remote() for w in workers]) for record in records
        ]
