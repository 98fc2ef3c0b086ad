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

"""Per-response scoring (SampleScorer): rule mode, judge mode with a fake judge, setup errors."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

from recipe.pasr.metrics import summarize
from recipe.pasr.reward import RewardConfig, Role, result_record, sample_record, score_group
from recipe.pasr.scoring.sample import JudgeTarget, SampleScorer, ScoreRequest, ScorerMode, ScorerSetupError
from recipe.pasr.tasks import TaskType, UnknownDataSource, resolve_task

GSM8K_GT = "She makes 9 * 2 = $18.\n#### 18"
WINO_Q = "Sarah was a much better surgeon than Maria so _ always got the easier cases.\nOption1: Sarah\nOption2: Maria"
ARC_Q = "What will most likely result?\nA: fog\nB: rain\nC: drought\nD: tornado"


@dataclass
class Verdict:
    score: float | None
    failed: bool = False
    error: str | None = None
    deduplicated: bool = False
    attempts: int = 1
    failure_kind: str | None = None
    started_at: float | None = 100.0
    latency_s: float | None = 0.25


@dataclass
class FakeJudge:
    """Stands in for JudgeClient: records calls, answers with a fixed verdict."""

    verdict: Verdict = field(default_factory=lambda: Verdict(0.75))
    calls: list[dict] = field(default_factory=list)

    async def score(self, *, task_type: TaskType, question: str, reference: str, answer: str) -> Verdict:
        self.calls.append({"task_type": task_type, "question": question, "reference": reference, "answer": answer})
        return self.verdict


def request(response: str, data_source: str = "gsm8k", ground_truth: str = GSM8K_GT, **kwargs) -> ScoreRequest:
    return ScoreRequest(response=response, ground_truth=ground_truth, data_source=data_source, **kwargs)


# --- rule mode ------------------------------------------------------------------------------------

RULE_CASES = [
    # (id, request, format_ok, is_refine, num_refine, acc, scorer, extracted)
    ("gsm8k", request("<think>9*2</think><answer>18</answer>"), True, False, 0, 1.0, "rule", "18"),
    ("gsm8k-hub", request("<think>9*2</think><answer>18</answer>", "openai/gsm8k"), True, False, 0, 1.0, "rule", "18"),
    ("gsm8k-wrong", request("<think>9*3</think><answer>27</answer>"), True, False, 0, 0.0, "rule", "27"),
    (
        "gsm8k-refine",
        request("<think>9*3 <refine>eggs cost 2, not 3</refine> 9*2</think><answer>\\boxed{18}</answer>"),
        True,
        True,
        1,
        1.0,
        "rule",
        "18",
    ),
    # a refining response that lost its answer block: refinement kept, acc 0, nothing scored
    ("no-answer-refine", request("<think>9*3 <refine>no, 9*2=18</refine></think>"), False, True, 1, 0.0, "none", None),
    ("invalid-format", request("The answer is 18."), False, False, 0, 0.0, "none", None),
    # format-invalid, but its answer block is still scored (score_invalid_format, the default)
    ("text-after-answer", request("<think>x</think><answer>18</answer> ok"), False, False, 0, 1.0, "rule", "18"),
    (
        "math",
        request("<think>r=3</think><answer>\\boxed{(3, \\frac{\\pi}{2})}</answer>", "math", "(3,\\frac{\\pi}{2})"),
        True,
        False,
        0,
        1.0,
        "rule",
        None,
    ),
    (
        "aime",
        request("<think>t</think><answer>204</answer>", "aime24", "\\boxed{204}"),
        True,
        False,
        0,
        1.0,
        "rule",
        "204",
    ),
    (
        "arc",
        request("<think>no rain</think><answer>C: drought</answer>", "arc_challenge", "C", question=ARC_Q),
        True,
        False,
        0,
        1.0,
        "rule",
        "C",
    ),
    (
        "winogrande",
        request("<think>t</think><answer>Maria</answer>", "winogrande", "2", question=WINO_Q),
        True,
        False,
        0,
        1.0,
        "rule",
        "2",
    ),
    # standard responses: whole text is the answer, no format, no refinement detection (even with tags)
    ("standard", request("It is 18.", role=Role.STANDARD), None, False, 0, 1.0, "rule", "18"),
    (
        "standard-with-tags",
        request("<think>a<refine>b</refine></think><answer>18</answer>", role="standard"),
        None,
        False,
        0,
        1.0,
        "rule",
        "18",
    ),
    ("standard-empty", request("  \n", role=Role.STANDARD), None, False, 0, 0.0, "none", None),
    ("standard-after-think", request("</think> 18", role=Role.STANDARD), None, False, 0, 1.0, "rule", "18"),
    ("standard-only-think", request("</think>", role=Role.STANDARD), None, False, 0, 0.0, "none", None),
    # a chat template that pre-opened <think>
    (
        "prompt-tail",
        request("9*2 <refine>check: 18</refine></think><answer>18</answer>", prompt_tail="assistant\n<think>\n"),
        True,
        True,
        1,
        1.0,
        "rule",
        "18",
    ),
]


@pytest.mark.parametrize(
    ("req", "format_ok", "is_refine", "num_refine", "acc", "scorer", "extracted"),
    [case[1:] for case in RULE_CASES],
    ids=[case[0] for case in RULE_CASES],
)
@pytest.mark.parametrize("mode", [ScorerMode.AUTO, ScorerMode.RULE])
def test_rule_scoring(
    mode: ScorerMode,
    req: ScoreRequest,
    format_ok: bool | None,
    is_refine: bool,
    num_refine: int,
    acc: float,
    scorer: str,
    extracted: str | None,
) -> None:
    sample, parsed = SampleScorer(RewardConfig(), mode).score_rule(req)
    assert (sample.format_ok, sample.is_refine, sample.num_refine) == (format_ok, is_refine, num_refine)
    assert (sample.acc, sample.scorer, sample.judge_failed) == (acc, scorer, False)
    if extracted is not None:
        assert sample.extracted == extracted
    assert sample.role is Role(req.role)
    assert (parsed is None) == (sample.role is Role.STANDARD)


@pytest.mark.parametrize("missing", [0.0, 0.25])
def test_missing_answer_acc_is_configurable_and_reported(missing: float) -> None:
    scorer = SampleScorer(RewardConfig(missing_answer_acc=missing))
    sample, _ = scorer.score_rule(request("<think>a <refine>b</refine></think>"))
    assert (sample.acc, sample.scorer, sample.answer) == (missing, "none", None)
    assert sample.is_refine


def test_score_invalid_format_scores_the_answer_block_by_default() -> None:
    response = "Sure. <think>9*2</think><answer>18</answer>"
    off, _ = SampleScorer(RewardConfig(score_invalid_format=False)).score_rule(request(response))
    on, _ = SampleScorer(RewardConfig()).score_rule(request(response))
    assert (off.format_ok, off.acc, off.answer) == (False, 0.0, None)
    assert (on.format_ok, on.acc, on.answer, on.scorer) == (False, 1.0, "18", "rule")


@pytest.mark.parametrize(
    ("empty_refine", "format_ok", "is_refine"), [("invalid", False, False), ("counts", True, True)]
)
def test_empty_refine_setting_reaches_the_sample_score(empty_refine: str, format_ok: bool, is_refine: bool) -> None:
    response = "<think>9*2 <refine> </refine></think><answer>18</answer>"
    sample, _ = SampleScorer(RewardConfig(empty_refine=empty_refine)).score_rule(request(response))
    assert (sample.format_ok, sample.is_refine, sample.num_refine, sample.acc) == (
        format_ok,
        is_refine,
        int(is_refine),
        1.0,
    )


def test_empty_refine_default_is_invalid() -> None:
    assert RewardConfig().empty_refine == "invalid"
    with pytest.raises(ValueError, match="'sometimes' is not a valid EmptyRefine"):
        RewardConfig(empty_refine="sometimes")


def test_baseline_acc_is_carried() -> None:
    sample, _ = SampleScorer(RewardConfig()).score_rule(request("x", role=Role.STANDARD, baseline_acc=0.4))
    assert sample.baseline_acc == 0.4


async def test_async_rule_scoring_runs_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    scorer = SampleScorer(RewardConfig())
    original = scorer.score_rule

    def spy(req: ScoreRequest):
        seen.append(threading.current_thread().name)
        return original(req)

    monkeypatch.setattr(scorer, "score_rule", spy)
    sample, _ = await scorer.score(request("<think>t</think><answer>\\boxed{\\frac{1}{2}}</answer>", "math", "0.5"))
    assert sample.acc == 1.0 and sample.scorer == "rule"
    assert seen and seen[0] != threading.main_thread().name  # math-verify ran without SIGALRM


# --- setup errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("data_source", ["drop", "ucinlp/drop", "xsum", "alpaca_evol_instruct"])
def test_rule_mode_on_a_judged_task_names_the_data_source(data_source: str) -> None:
    scorer = SampleScorer(RewardConfig(), ScorerMode.RULE, judge=FakeJudge())
    with pytest.raises(ScorerSetupError, match="no rule scorer") as info:
        scorer.score_rule(request("<think>t</think><answer>x</answer>", data_source, "x"))
    assert data_source.split("/")[-1] in str(info.value)


async def test_rule_mode_errors_in_async_score_too() -> None:
    with pytest.raises(ScorerSetupError, match="'drop'"):
        await SampleScorer(RewardConfig(), "rule").score(request("x", "drop", "x"))


@pytest.mark.parametrize(
    ("mode", "data_source"),
    [(ScorerMode.AUTO, "xsum"), (ScorerMode.AUTO, "drop"), (ScorerMode.JUDGE, "gsm8k"), (ScorerMode.JUDGE, "mmlu")],
)
async def test_a_judged_task_without_judge_is_an_error(mode: ScorerMode, data_source: str) -> None:
    scorer = SampleScorer(RewardConfig(), mode)
    with pytest.raises(ScorerSetupError, match="needs the judge") as info:
        await scorer.score(request("<think>t</think><answer>x</answer>", data_source, "A"))
    assert repr(data_source) in str(info.value)


def test_score_rule_refuses_judged_tasks() -> None:
    scorer = SampleScorer(RewardConfig(), judge=FakeJudge())
    with pytest.raises(ScorerSetupError, match="call score"):
        scorer.score_rule(request("x", "xsum", "summary"))


def test_unknown_data_source() -> None:
    with pytest.raises(UnknownDataSource):
        SampleScorer(RewardConfig()).score_rule(request("x", "squad"))


def test_uses_judge() -> None:
    judge = FakeJudge()
    auto = SampleScorer(RewardConfig(), "auto", judge=judge)
    assert not auto.uses_judge(resolve_task("gsm8k")) and auto.uses_judge(resolve_task("xsum"))
    assert SampleScorer(RewardConfig(), "judge", judge=judge).uses_judge(resolve_task("gsm8k"))
    assert not SampleScorer(RewardConfig(), "rule").uses_judge(resolve_task("gsm8k"))


# --- judge mode (fake judge) ----------------------------------------------------------------------

XSUM = dict(data_source="xsum", ground_truth="A reference summary.", question="Summarise: ...")


async def test_judge_scores_the_answer_only_by_default() -> None:
    judge = FakeJudge(Verdict(0.75))
    response = "<think>points <refine>add the date</refine></think><answer> A summary. </answer>"
    sample, parsed = await SampleScorer(RewardConfig(), judge=judge).score(request(response, **XSUM))
    assert judge.calls == [
        {
            "task_type": TaskType.SUMMARY,
            "question": "Summarise: ...",
            "reference": "A reference summary.",
            "answer": "A summary.",
        }
    ]
    assert (sample.acc, sample.scorer, sample.judge_failed, sample.is_refine) == (0.75, "judge", False, True)
    assert (sample.judge_attempts, sample.judge_started_at, sample.judge_latency_s) == (1, 100.0, 0.25)
    assert parsed is not None and parsed.format_ok and not sample.judge_deduplicated


async def test_a_shared_judge_verdict_is_recorded_on_the_sample() -> None:
    judge = FakeJudge(Verdict(1.0, deduplicated=True))
    sample, _ = await SampleScorer(RewardConfig(), judge=judge).score(
        request("<think>t</think><answer>A.</answer>", **XSUM)
    )
    assert sample.judge_deduplicated and sample_record(sample)["judge_deduplicated"] is True


async def test_judge_target_response_sends_the_whole_response() -> None:
    judge = FakeJudge()
    response = "<think>t</think><answer>A summary.</answer>"
    scorer = SampleScorer(RewardConfig(), judge=judge, judge_target=JudgeTarget.RESPONSE)
    await scorer.score(request(response, **XSUM))
    assert judge.calls[0]["answer"] == response


@pytest.mark.parametrize("response", ["<think>t</think> A summary.", "<answer>A</answer><answer>B</answer>"])
async def test_judge_target_response_judges_a_response_without_one_answer_block(response: str) -> None:
    judge = FakeJudge(Verdict(0.7))
    scorer = SampleScorer(RewardConfig(), judge=judge, judge_target=JudgeTarget.RESPONSE)
    sample, _ = await scorer.score(request(response, **XSUM))
    assert judge.calls[0]["answer"] == response
    assert (sample.acc, sample.scorer, sample.format_ok) == (0.7, "judge", False)
    # without score_invalid_format such a response is not judged: missing_answer_acc
    off = SampleScorer(RewardConfig(score_invalid_format=False), judge=FakeJudge(), judge_target=JudgeTarget.RESPONSE)
    unjudged, _ = await off.score(request(response, **XSUM))
    assert (unjudged.acc, unjudged.scorer) == (0.0, "none")


async def test_judge_mode_on_a_rule_task() -> None:
    judge = FakeJudge(Verdict(1.0))
    scorer = SampleScorer(RewardConfig(), ScorerMode.JUDGE, judge=judge)
    sample, _ = await scorer.score(request("<think>t</think><answer>B</answer>", "mmlu", "B", question=ARC_Q))
    assert judge.calls[0]["task_type"] is TaskType.MULTIPLE_CHOICE
    assert (sample.acc, sample.scorer, sample.extracted) == (1.0, "judge", None)


async def test_judge_failure_is_reported_not_scored() -> None:
    judge = FakeJudge(
        Verdict(None, failed=True, error="reply is not a number: 'great'", attempts=2, failure_kind="unparsable")
    )
    sample, _ = await SampleScorer(RewardConfig(), judge=judge).score(
        request("<think>t</think><answer>A summary.</answer>", **XSUM)
    )
    assert (sample.acc, sample.judge_failed, sample.judge_error, sample.scorer) == (
        None,
        True,
        "reply is not a number: 'great'",
        "judge",
    )
    assert (sample.judge_failure_kind, sample.judge_attempts) == ("unparsable", 2)  # for pasr/judge/failures/*


@pytest.mark.parametrize(
    ("response", "role"),
    [
        ("<think>t</think>", Role.POLICY),  # no answer block
        ("A summary without tags.", Role.POLICY),  # invalid format
        ("   ", Role.STANDARD),  # empty standard response
    ],
)
async def test_no_answer_is_never_sent_to_the_judge(response: str, role: Role) -> None:
    judge = FakeJudge()
    sample, _ = await SampleScorer(RewardConfig(missing_answer_acc=0.1), judge=judge).score(
        request(response, role=role, **XSUM)
    )
    assert judge.calls == []
    assert (sample.acc, sample.scorer, sample.judge_failed) == (0.1, "none", False)


async def test_standard_response_is_judged_whole() -> None:
    judge = FakeJudge()
    sample, parsed = await SampleScorer(RewardConfig(), judge=judge).score(
        request(" A plain summary. ", role=Role.STANDARD, **XSUM)
    )
    assert judge.calls[0]["answer"] == "A plain summary."
    assert parsed is None and sample.format_ok is None and not sample.is_refine


async def test_empty_answer_block_counts_as_no_answer() -> None:
    judge = FakeJudge()
    scorer = SampleScorer(RewardConfig(score_invalid_format=True), judge=judge)
    sample, _ = await scorer.score(request("<think>t</think><answer>  </answer>", **XSUM))
    assert judge.calls == []
    assert sample.scorer == "none"


def test_standard_response_from_a_thinking_model_is_scored_after_its_reasoning() -> None:
    scorer = SampleScorer(RewardConfig(), ScorerMode.RULE)
    request = ScoreRequest("<think> maybe 18 </think> The answer is 12.", "#### 12", "gsm8k", role=Role.STANDARD)
    sample, _ = scorer.score_rule(request)
    assert sample.answer == "The answer is 12." and sample.acc == 1.0


# --- unresolved rule answers and the judge fallback -------------------------------------------------

MMLU_Q = "Which?\nA. one\nB. two\nC. three\nD. four"
UNRESOLVED = [
    # (id, request): answers whose rule finds no single answer
    ("gsm8k-words", request("<think>t</think><answer>eighteen</answer>")),
    ("mmlu-two-letters", request("<think>t</think><answer>A or B</answer>", "mmlu", "B", question=MMLU_Q)),
    ("winogrande-both", request("<think>t</think><answer>Sarah or Maria</answer>", "winogrande", "2", question=WINO_Q)),
    ("math-unparseable", request("<think>t</think><answer>\\boxed{}</answer>", "math", "5")),
    ("standard", request("It is eighteen.", role=Role.STANDARD)),
]


@pytest.mark.parametrize("req", [case[1] for case in UNRESOLVED], ids=[case[0] for case in UNRESOLVED])
async def test_fallback_mode_judges_what_the_rule_cannot_resolve(req: ScoreRequest) -> None:
    judge = FakeJudge(Verdict(0.75, deduplicated=True))
    sample, _ = await SampleScorer(RewardConfig(), ScorerMode.FALLBACK, judge=judge).score(req)
    task = resolve_task(req.data_source)
    assert judge.calls == [
        {"task_type": task.task_type, "question": req.question, "reference": req.ground_truth, "answer": sample.answer}
    ]
    assert (sample.acc, sample.scorer, sample.rule_unresolved, sample.extracted) == (0.75, "judge", True, None)
    assert sample.judge_deduplicated and not sample.judge_failed
    assert sample_record(sample)["rule_unresolved"] is True


@pytest.mark.parametrize("req", [case[1] for case in UNRESOLVED], ids=[case[0] for case in UNRESOLVED])
@pytest.mark.parametrize("mode", [ScorerMode.AUTO, ScorerMode.RULE])
async def test_without_fallback_an_unresolved_answer_scores_0_and_is_counted(mode: ScorerMode, req: ScoreRequest):
    judge = FakeJudge()
    sample, _ = await SampleScorer(RewardConfig(missing_answer_acc=0.5), mode, judge=judge).score(req)
    assert judge.calls == []
    assert (sample.acc, sample.scorer, sample.rule_unresolved) == (0.0, "rule", True)


@pytest.mark.parametrize(
    "req",
    [
        request("<think>t</think><answer>27</answer>"),  # resolved, wrong
        request("<think>t</think><answer>18</answer>"),  # resolved, right
        request("The answer is eighteen."),  # no answer at all: missing_answer_acc, never judged
        request("<think>t</think><answer>Maria</answer>", "winogrande", "2", question=WINO_Q),
    ],
)
async def test_fallback_mode_leaves_resolved_and_missing_answers_alone(req: ScoreRequest) -> None:
    judge = FakeJudge()
    scorer = SampleScorer(RewardConfig(missing_answer_acc=0.5), ScorerMode.FALLBACK, judge=judge)
    sample, _ = await scorer.score(req)
    expected, _ = SampleScorer(RewardConfig(missing_answer_acc=0.5), ScorerMode.RULE).score_rule(req)
    assert judge.calls == [] and not sample.rule_unresolved and not scorer.falls_back(sample)
    assert sample == expected


def test_score_rule_never_calls_the_judge_and_says_what_falls_back() -> None:
    judge = FakeJudge()
    scorer = SampleScorer(RewardConfig(), ScorerMode.FALLBACK, judge=judge)
    sample, _ = scorer.score_rule(request("<think>t</think><answer>eighteen</answer>"))
    assert (sample.acc, sample.scorer, sample.rule_unresolved) == (0.0, "rule", True)
    assert scorer.falls_back(sample) and judge.calls == []
    assert not SampleScorer(RewardConfig(), ScorerMode.AUTO, judge=judge).falls_back(sample)


async def test_judge_unresolved_is_a_no_op_outside_fallback_mode() -> None:
    judge = FakeJudge()
    req = request("<think>t</think><answer>eighteen</answer>")
    scorer = SampleScorer(RewardConfig(), ScorerMode.AUTO, judge=judge)
    sample, _ = scorer.score_rule(req)
    await scorer.judge_unresolved(sample, req)
    assert judge.calls == [] and (sample.acc, sample.scorer) == (0.0, "rule")


async def test_fallback_follows_the_judge_target() -> None:
    judge = FakeJudge()
    response = "<think>9*2</think><answer>eighteen</answer>"
    scorer = SampleScorer(RewardConfig(), ScorerMode.FALLBACK, judge=judge, judge_target=JudgeTarget.RESPONSE)
    await scorer.score(request(response))
    await scorer.score(request("<think>9*2</think> eighteen", role=Role.STANDARD))
    assert [call["answer"] for call in judge.calls] == [response, "eighteen"]  # a standard response: after </think>


async def test_a_failed_fallback_is_a_judge_failure() -> None:
    judge = FakeJudge(Verdict(None, failed=True, error="timeout"))
    sample, _ = await SampleScorer(RewardConfig(), "fallback", judge=judge).score(
        request("<think>t</think><answer>eighteen</answer>")
    )
    assert (sample.acc, sample.judge_failed, sample.judge_error, sample.scorer) == (None, True, "timeout", "judge")
    assert sample.rule_unresolved


def test_fallback_mode_needs_a_judge() -> None:
    with pytest.raises(ScorerSetupError, match=r"'fallback'.*configure a judge"):
        SampleScorer(RewardConfig(), ScorerMode.FALLBACK)
    assert ScorerMode("fallback") is ScorerMode.FALLBACK


async def test_rule_counts_reach_the_run_metrics() -> None:
    """Per response ``rule_unresolved`` (+ ``scorer``) in the record; per run ``rule_unresolved``/``rule_fallbacks``."""
    judge = FakeJudge(Verdict(1.0))
    fallback = SampleScorer(RewardConfig(), ScorerMode.FALLBACK, judge=judge)
    auto = SampleScorer(RewardConfig(), ScorerMode.AUTO, judge=judge)
    unresolved = request("<think>t</think><answer>eighteen</answer>")
    samples = [
        (await fallback.score(unresolved))[0],
        (await fallback.score(request("eighteen", role=Role.STANDARD)))[0],
        (await fallback.score(request("<think>t</think><answer>18</answer>")))[0],
        (await auto.score(unresolved))[0],
    ]
    records = [result_record(s, r) for s, r in zip(samples, score_group(samples, RewardConfig()), strict=True)]
    assert [(r["rule_unresolved"], r["scorer"]) for r in records] == [
        (True, "judge"),
        (True, "judge"),
        (False, "rule"),
        (True, "rule"),
    ]
    metrics = summarize(records)
    assert (metrics["pasr/rule_unresolved"], metrics["pasr/rule_fallbacks"]) == (3.0, 2.0)


def test_a_rule_reads_the_answer_even_when_the_judge_reads_the_whole_response() -> None:
    # Before: with judge_target=response the GSM8K rule read the whole response (and its boxed draft).
    scorer = SampleScorer(RewardConfig(), judge=FakeJudge(), judge_target=JudgeTarget.RESPONSE)
    sample, _ = scorer.score_rule(request("<think>draft \\boxed{27}, no: 9*2</think><answer>18</answer>"))
    assert (sample.acc, sample.extracted) == (1.0, "18")


def test_mode_and_target_values_are_the_config_strings() -> None:
    # Configs (pasr.scorer, pasr.judge_target), CLI flags and stored run settings spell these.
    assert [str(mode) for mode in ScorerMode] == ["auto", "rule", "judge", "fallback"]
    assert [str(target) for target in JudgeTarget] == ["answer", "response"]


async def test_a_request_without_a_question_sends_an_empty_one() -> None:
    judge = FakeJudge()
    await SampleScorer(RewardConfig(), judge=judge).score(
        ScoreRequest("<think>t</think><answer>A.</answer>", "S.", "xsum")
    )
    assert judge.calls[0]["question"] == ""
