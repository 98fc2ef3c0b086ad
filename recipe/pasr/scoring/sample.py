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

"""Per-response scoring: parse the structure, pick the accuracy scorer, fill a :class:`SampleScore`.

This is the per-sample half of the reward, shared by verl's reward loop, the offline CLI and the
evaluation harness; :func:`recipe.pasr.reward.score_group` adds the group half.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from recipe.pasr.enums import StrEnum
from recipe.pasr.response import THINK_CLOSE, ParsedResponse, parse_response
from recipe.pasr.reward import RewardConfig, Role, SampleScore
from recipe.pasr.scoring.judge import JudgeClient
from recipe.pasr.scoring.rules import RULES
from recipe.pasr.tasks import Task, resolve_task


class ScorerMode(StrEnum):
    AUTO = "auto"  # a rule where the task has one, the judge otherwise
    RULE = "rule"  # rules only; a task without a rule is an error
    JUDGE = "judge"  # the judge for every task
    # As auto, and the judge also scores answers its task's rule finds no single answer in (needs a judge).
    FALLBACK = "fallback"


class JudgeTarget(StrEnum):
    ANSWER = "answer"  # the <answer> text (default: the judge never sees the reasoning)
    RESPONSE = "response"  # the whole response, as the paper's code did


# The defaults of the scorer's two choices, read by PasrConfig and the CLIs (one copy each).
DEFAULT_SCORER = ScorerMode.AUTO
DEFAULT_JUDGE_TARGET = JudgeTarget.ANSWER


class ScorerSetupError(ValueError):
    """A record cannot be scored with the chosen scorer (names the data source)."""


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    """One response to score, with what the scorers need from its record."""

    response: str
    ground_truth: str
    data_source: str
    question: str = ""
    role: Role = Role.POLICY
    prompt_tail: str = ""
    baseline_acc: float | None = None


class SampleScorer:
    """Scores single responses. Holds the judge client (if any); cheap to share across requests."""

    def __init__(
        self,
        config: RewardConfig,
        mode: ScorerMode = DEFAULT_SCORER,
        judge: JudgeClient | None = None,
        judge_target: JudgeTarget = DEFAULT_JUDGE_TARGET,
    ) -> None:
        self.config = config
        self.mode = ScorerMode(mode)
        self.judge = judge
        self.judge_target = JudgeTarget(judge_target)
        if self.mode is ScorerMode.FALLBACK and judge is None:
            raise ScorerSetupError("scorer 'fallback' hands unresolved rule answers to the judge: configure a judge")

    def uses_judge(self, task: Task) -> bool:
        """Whether ``task`` goes to the judge under this scorer's mode (raises if it cannot be scored)."""
        if self.mode is ScorerMode.RULE and task.rule is None:
            raise ScorerSetupError(f"data_source {task.name!r} has no rule scorer; use the judge (scorer auto/judge)")
        needs_judge = self.mode is ScorerMode.JUDGE or task.rule is None
        if needs_judge and self.judge is None:
            raise ScorerSetupError(f"data_source {task.name!r} needs the judge, but no judge endpoint is configured")
        return needs_judge

    def prepare(self, request: ScoreRequest) -> tuple[SampleScore, ParsedResponse | None, str | None]:
        """Structure part of the score, and the text to judge (None when there is no answer)."""
        role = Role(request.role)
        if role is Role.STANDARD:
            # A thinking-mode model (Qwen3) answers a standard prompt after its own </think>.
            text = request.response
            closed = text.rfind(THINK_CLOSE)
            answer = (text[closed + len(THINK_CLOSE) :] if closed >= 0 else text).strip() or None
            sample = SampleScore(role=role, answer=answer, baseline_acc=request.baseline_acc)
            return sample, None, answer
        parsed = parse_response(request.response, request.prompt_tail, self.config.empty_refine)
        # An empty answer block (reachable with score_invalid_format) is no answer: never judged or scored.
        answer = (parsed.answer or None) if parsed.format_ok or self.config.score_invalid_format else None
        sample = SampleScore(
            role=role,
            format_ok=parsed.format_ok,
            format_error=parsed.format_error,
            is_refine=parsed.is_refine,
            num_refine=parsed.num_refine,
            answer=answer,
            baseline_acc=request.baseline_acc,
        )
        return sample, parsed, self._judged_text(request, sample)

    def _judged_text(self, request: ScoreRequest, sample: SampleScore) -> str | None:
        """The answer, or the whole response with ``judge_target=response``.

        A judge reading the whole response needs no answer block: with ``score_invalid_format`` a
        response with none (or several) is judged whole, as the authors judged every response.
        """
        whole = sample.role is Role.POLICY and self.judge_target is JudgeTarget.RESPONSE
        if whole and (sample.answer or (self.config.score_invalid_format and request.response.strip())):
            return request.response
        return sample.answer

    def score_rule(self, request: ScoreRequest) -> tuple[SampleScore, ParsedResponse | None]:
        """Synchronous scoring for tasks that go to a rule (raises if the task needs the judge).

        Never calls the judge: in ``fallback`` mode follow it with :meth:`judge_unresolved` (or use
        :meth:`score`, which does both).
        """
        task = resolve_task(request.data_source)
        if self.uses_judge(task):
            raise ScorerSetupError(f"data_source {task.name!r} is judged; call score() instead")
        sample, parsed, _ = self.prepare(request)
        self._apply_rule(sample, task, request)
        return sample, parsed

    async def score(self, request: ScoreRequest) -> tuple[SampleScore, ParsedResponse | None]:
        """Score one response; rules run in a thread so judge requests keep flowing meanwhile."""
        task = resolve_task(request.data_source)
        if not self.uses_judge(task):
            sample, parsed = await asyncio.get_running_loop().run_in_executor(None, self.score_rule, request)
            await self.judge_unresolved(sample, request)
            return sample, parsed
        sample, parsed, judged = self.prepare(request)
        if judged is None:
            sample.acc, sample.scorer = self.config.missing_answer_acc, "none"
            return sample, parsed
        await self._judge(sample, task, request, judged)
        return sample, parsed

    def falls_back(self, sample: SampleScore) -> bool:
        """Whether a rule-scored sample still goes to the judge: ``fallback`` mode and no single answer found.

        In other modes an unresolved answer keeps the rule's 0 (still counted: ``rule_unresolved``).
        """
        return sample.rule_unresolved and self.mode is ScorerMode.FALLBACK

    async def judge_unresolved(self, sample: SampleScore, request: ScoreRequest) -> None:
        """Let the judge score ``sample`` in place if :meth:`falls_back` says so (a no-op otherwise).

        The sample keeps ``rule_unresolved`` and becomes a judged one (``scorer`` "judge"), so runs
        count it among ``rule_fallbacks``.
        """
        if not self.falls_back(sample):
            return
        judged = self._judged_text(request, sample)
        assert judged is not None  # an unresolved answer is a non-empty answer
        await self._judge(sample, resolve_task(request.data_source), request, judged)

    async def _judge(self, sample: SampleScore, task: Task, request: ScoreRequest, judged: str) -> None:
        assert self.judge is not None
        verdict = await self.judge.score(
            task_type=task.task_type, question=request.question, reference=request.ground_truth, answer=judged
        )
        sample.scorer = "judge"
        sample.acc = verdict.score
        sample.judge_failed = verdict.failed
        sample.judge_deduplicated = verdict.deduplicated
        sample.judge_error = verdict.error
        sample.judge_attempts = verdict.attempts
        sample.judge_failure_kind = verdict.failure_kind
        sample.judge_started_at = verdict.started_at
        sample.judge_latency_s = verdict.latency_s

    def _apply_rule(self, sample: SampleScore, task: Task, request: ScoreRequest) -> None:
        # A rule reads the answer, whatever the judge target: numbers in the reasoning are not answers.
        if sample.answer is None:
            sample.acc, sample.scorer = self.config.missing_answer_acc, "none"
            return
        assert task.rule is not None
        result = RULES[task.rule](sample.answer, str(request.ground_truth), request.question)
        sample.acc, sample.scorer, sample.extracted = result.acc, "rule", result.extracted
        sample.rule_unresolved = result.extracted is None
