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

"""PASR reward manager for verl 0.9.1's reward loop (the per-sample half of the reward).

verl runs ``run_single`` in reward-loop workers while rollout is still going. It can only see one
response, so it computes what needs no group: format, refinement detection and accuracy (rules or
the judge), and returns them in ``reward_extra_info``. The refinement bonus and the final score are
applied by :mod:`recipe.pasr.verl.agent_loop` once the whole group is in.

Load it with::

    reward.reward_manager.source=importlib
    reward.reward_manager.name=PasrRewardManager
    reward.reward_manager.module.path=pkg://recipe.pasr.verl.reward_manager
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import aiohttp
import ray
from omegaconf import DictConfig
from verl import DataProto
from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase

from recipe.pasr.reward import Role, sample_record, score_group
from recipe.pasr.scoring.judge import JudgeClient
from recipe.pasr.scoring.sample import SampleScorer, ScoreRequest
from recipe.pasr.tasks import resolve_task
from recipe.pasr.verl.config import JudgeBackend, PasrConfig, check_job_config

ROLE_KEY = "pasr_role"  # set in extra_info by the group hook for standard-prompt baseline samples


def route_to_reward_manager(**_: Any) -> None:
    """Placeholder for ``reward.custom_reward_function``, set by ``+recipe=pasr`` for every judge backend.

    verl 0.9.1's ``RewardLoopWorker`` sends samples to the reward manager only when a custom reward
    function is configured; with a reward model enabled and none configured it assumes a
    discriminative model and bypasses the manager. Naming this function routes the samples to
    :class:`PasrRewardManager`, which never calls it (``recipe.pasr.verl.config`` refuses configs without it).
    """
    raise RuntimeError("route_to_reward_manager is a routing marker; PasrRewardManager scores PASR samples")


class PasrRewardManager(RewardManagerBase):
    """Scores one response: structure, format reward and accuracy. See the module docstring."""

    def __init__(
        self,
        config: DictConfig,
        tokenizer: Any,
        compute_score: Any = None,
        reward_router_address: str | None = None,
        reward_model_tokenizer: Any = None,
    ) -> None:
        super().__init__(config, tokenizer, compute_score)
        self.pasr: PasrConfig = check_job_config(config)
        self.reward_router_address = reward_router_address
        if self.pasr.judge_backend is JudgeBackend.VERL and reward_router_address is None:
            raise ValueError("pasr.judge_backend=verl, but verl started no judge server (no reward_router_address)")
        self._scorer: SampleScorer | None = None
        self._scorer_lock: asyncio.Lock | None = None

    async def run_single(self, data: DataProto) -> dict[str, Any]:
        item = data[-1]  # multi-output trajectories are scored on their last output, as verl's managers do
        prompt_ids, response_ids = item.batch["prompts"], item.batch["responses"]
        mask = item.batch["attention_mask"].bool()
        response_length = response_ids.shape[-1]
        valid_response = response_ids[mask[-response_length:]]
        tail_length = self.pasr.prompt_tail_tokens
        prompt_tail_ids = prompt_ids[mask[: prompt_ids.shape[-1]]][-tail_length:] if tail_length else None
        response, prompt_tail = await self.loop.run_in_executor(
            None,
            lambda: (
                self.tokenizer.decode(valid_response, skip_special_tokens=True),
                "" if prompt_tail_ids is None else self.tokenizer.decode(prompt_tail_ids, skip_special_tokens=False),
            ),
        )
        non_tensor = item.non_tensor_batch
        extra_info = non_tensor.get("extra_info") or {}
        reward_model = non_tensor.get("reward_model")
        # A field absent from some rows of a parquet file reads back as None: missing too, never "None".
        ground_truth = reward_model.get("ground_truth") if isinstance(reward_model, dict) else None
        data_source = non_tensor.get("data_source")
        for field, value in (("reward_model.ground_truth", ground_truth), ("data_source", data_source)):
            if value is None:
                raise ValueError(f"record {where(non_tensor)}: missing field {field} (every record needs it)")
        scorer = await self._get_scorer()
        question = extra_info.get("question")
        if not question and scorer.uses_judge(resolve_task(str(data_source))):  # the judge would grade blind
            raise ValueError(
                f"record {where(non_tensor)}: missing field extra_info.question (data_source {data_source!r} "
                "is judged, and the judge is given the question)"
            )
        request = ScoreRequest(
            response=response,
            ground_truth=str(ground_truth),
            data_source=str(data_source),
            question=str(question or ""),
            role=Role(extra_info.get(ROLE_KEY, Role.POLICY)),
            prompt_tail=prompt_tail,
            baseline_acc=extra_info.get("baseline_acc"),
        )
        sample, _ = await scorer.score(request)
        # Provisional: the sample scored alone (no in-group bonus); the group hook replaces it.
        provisional = score_group([sample], self.pasr.reward)[0].score
        return {"reward_score": provisional, "reward_extra_info": sample_record(sample)}

    async def _get_scorer(self) -> SampleScorer:
        # Built inside the running loop: the judge client's session and semaphore are loop-bound.
        if self._scorer is None:
            self._scorer_lock = self._scorer_lock or asyncio.Lock()
            async with self._scorer_lock:
                if self._scorer is None:
                    judge = await self._build_judge()
                    self._scorer = SampleScorer(self.pasr.reward, self.pasr.scorer, judge, self.pasr.judge_target)
        return self._scorer

    async def _build_judge(self) -> JudgeClient | None:
        settings = self.pasr.judge
        if self.pasr.judge_backend is JudgeBackend.NONE:
            return None
        if self.pasr.judge_backend is JudgeBackend.VERL:
            url = f"http://{self.reward_router_address}/v1"
            config = settings.config(url=url, api_key_env=None, model=settings.model or await served_model_name(url))
        else:
            config = settings.config()
        # pasr.judge.max_concurrency is the job's total: take this worker's part
        share = judge_concurrency_share(config.max_concurrency, self.config.reward.num_workers, worker_index())
        return JudgeClient(dataclasses.replace(config, max_concurrency=share))


def where(non_tensor: dict[str, Any]) -> str:
    """How an error names the record: its prompt uid and its dataset index."""
    extra_info = non_tensor.get("extra_info") or {}
    return f"uid={non_tensor.get('uid')} extra_info.index={extra_info.get('index')}"


def judge_concurrency_share(total: int, workers: int, index: int) -> int:
    """This reward-loop worker's part of ``pasr.judge.max_concurrency``, the job's total.

    An exact split (worker ``i`` of ``W`` gets ``total // W``, plus one for the first ``total % W``), so
    the judge never sees more than ``total`` requests in flight, with no coordination between workers
    on the request path. The driver check refuses ``total < W``.
    """
    if not 0 <= index < workers or total < workers:
        raise ValueError(f"cannot split {total} judge requests over {workers} workers for worker {index}")
    return total // workers + (index < total % workers)


def worker_index() -> int:
    """The index verl gives this reward-loop worker (Ray actor ``reward_loop_worker_<i>``); 0 outside one."""
    name = ray.get_runtime_context().get_actor_name() if ray.is_initialized() else None
    prefix = "reward_loop_worker_"
    return int(name.removeprefix(prefix)) if name and name.startswith(prefix) else 0


async def served_model_name(base_url: str) -> str:
    """The model name an OpenAI-compatible server answers to (verl serves the judge under its local path)."""
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(f"{base_url}/models") as response:
        response.raise_for_status()
        models = (await response.json()).get("data") or []
    if not models:
        raise RuntimeError(f"judge server at {base_url} lists no models")
    return str(models[0]["id"])
