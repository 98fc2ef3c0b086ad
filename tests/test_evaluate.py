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

"""``recipe.pasr.tools.evaluate`` end to end on CPU: a tiny random model (HF backend) and a loopback fake
OpenAI-compatible server (generation and judge), on eval parquet prepared from the fixture files."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from recipe.pasr import exit_codes
from recipe.pasr.data_prep import prepare_eval
from recipe.pasr.reward import RewardConfig
from recipe.pasr.tasks import PAPER_EVAL_PREFIXES, PASR_SYSTEM_PROMPT, TaskType, judge_system_prompt
from recipe.pasr.tools import evaluate
from recipe.pasr.tools.backends import GenerationError, HFBackend
from tests.fakes.judge_server import FakeJudgeServer, FakeReply, FakeRequest
from tests.fakes.tiny_hf import build_tiny_model_dir

DATA = Path(__file__).resolve().parent / "data"
RECORD_FIELDS = {"prompt", "response", "answer", "extracted", "acc", "tokens", "num_refine", "refine_positions"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("eval_data")
    assert prepare_eval.main(["--output-dir", str(out), "--input-dir", str(DATA / "paper_sets")]) == 0
    return out


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return build_tiny_model_dir(tmp_path_factory.mktemp("tiny_model"))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@contextmanager
def serve(responder) -> Iterator[FakeJudgeServer]:
    """A fake OpenAI-compatible server on its own event-loop thread (the CLI runs ``asyncio.run``)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(FakeJudgeServer(responder).start(), loop).result(timeout=10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


# --- HF backend with a tiny random model -----------------------------------------------------------


def hf_args(data_dir: Path, model_dir: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--data-dir", str(data_dir), "--model", str(model_dir), "--backend", "hf", "--output-dir", str(out),
        "--max-new-tokens", "4", "--batch-size", "2", *extra,
    ]  # fmt: skip


def test_hf_runs_every_mode_and_compares(tmp_path, data_dir, model_dir):
    tasks = ["--tasks", "gsm8k", "mmlu", "winogrande"]
    for mode in ("pasr", "standard", "self_refine"):
        assert evaluate.main(hf_args(data_dir, model_dir, tmp_path / mode, *tasks, "--mode", mode)) == 0
        records = read_jsonl(tmp_path / mode / "records.jsonl")
        assert len(records) == 3 + 3 + 2
        assert all(set(r) >= RECORD_FIELDS and r["mode"] == mode for r in records)
        results = json.loads((tmp_path / mode / "results.json").read_text())
        assert set(results["tasks"]) == {"gsm8k", "mmlu", "winogrande"} and results["average"]["tasks"] == 3
        markdown = (tmp_path / mode / "results.md").read_text()
        assert "| gsm8k | 3 |" in markdown and "**average**" in markdown
    pasr, refined = (
        read_jsonl(tmp_path / "pasr" / "records.jsonl"),
        read_jsonl(tmp_path / "self_refine" / "records.jsonl"),
    )
    assert pasr[0]["prompt"][0]["content"] == PASR_SYSTEM_PROMPT and pasr[0]["role"] == "policy"
    assert pasr[0]["tokens"] == 4 and pasr[0]["finish_reason"] == "length"
    assert all(r["tokens"] == 4 + r["initial"]["tokens"] and r["role"] == "standard" for r in refined)
    assert json.loads((tmp_path / "self_refine" / "results.json").read_text())["tasks"]["gsm8k"]["tokens"] == 8
    assert json.loads((tmp_path / "standard" / "results.json").read_text())["tasks"]["mmlu"]["refine_rate"] is None

    assert (
        evaluate.main(
            ["compare", str(tmp_path / "standard"), str(tmp_path / "pasr"), "--output-dir", str(tmp_path / "cmp")]
        )
        == 0
    )
    comparison = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert comparison["tasks"]["average"]["tokens_relative_change"] == 0.0  # both hit the 4-token limit
    assert comparison["tasks"]["gsm8k"]["paired"] == {"better": 0, "worse": 0, "same": 3}
    assert "Δ tokens (%)" in (tmp_path / "cmp" / "comparison.md").read_text()
    assert (tmp_path / "cmp" / "comparison.png").read_bytes()[:4] == b"\x89PNG"


class FailingBackend:
    """Wraps a backend and raises on its n-th generate call: an interruption mid-run."""

    def __init__(self, inner: HFBackend, fail_on_call: int) -> None:
        self.inner, self.calls, self.fail_on_call = inner, 0, fail_on_call

    async def generate(self, requests, sampling):
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise GenerationError("simulated interruption")
        return await self.inner.generate(requests, sampling)

    async def aclose(self):
        return None


def test_interrupted_run_resumes_to_the_same_result(tmp_path, data_dir, model_dir, monkeypatch):
    tasks = ["--tasks", "gsm8k", "arc_challenge", "math"]
    assert evaluate.main(hf_args(data_dir, model_dir, tmp_path / "whole", *tasks)) == 0

    real_backend = evaluate.HFBackend
    monkeypatch.setattr(evaluate, "HFBackend", lambda *a, **k: FailingBackend(real_backend(*a, **k), fail_on_call=3))
    assert evaluate.main(hf_args(data_dir, model_dir, tmp_path / "resumed", *tasks)) == 1
    partial = (tmp_path / "resumed" / "records.jsonl").read_text().splitlines()
    assert len(partial) == 3  # GSM8K's two batches finished before the interruption
    with (tmp_path / "resumed" / "records.jsonl").open("a") as handle:
        handle.write('{"task": "math", "index": 0, "sa')  # a write cut off by the interruption
    monkeypatch.setattr(evaluate, "HFBackend", real_backend)

    calls = []
    original_generate = real_backend.generate

    async def counting_generate(self, requests, sampling):
        calls.append([r.messages[-1]["content"][:20] for r in requests])
        return await original_generate(self, requests, sampling)

    monkeypatch.setattr(real_backend, "generate", counting_generate)
    assert evaluate.main(hf_args(data_dir, model_dir, tmp_path / "resumed", *tasks)) == 0
    assert sum(len(c) for c in calls) == 8 - 3  # finished records were not regenerated
    for name in ("records.jsonl", "results.json", "results.md"):
        assert (tmp_path / "resumed" / name).read_text() == (tmp_path / "whole" / name).read_text(), name


def test_resume_refuses_changed_settings(tmp_path, data_dir, model_dir):
    args = hf_args(data_dir, model_dir, tmp_path, "--tasks", "gsm8k", "--limit", "1")
    assert evaluate.main(args) == 0
    assert evaluate.main([*args, "--max-new-tokens", "5"]) == 1
    assert evaluate.main([*args, "--scorer", "rule"]) == 1
    assert evaluate.main([*args, "--scorer", "rule", "--rescore"]) == 0
    unlimited = [a for a in args if a not in ("--limit", "1")]
    assert evaluate.main([*unlimited, "--scorer", "rule"]) == 0
    assert json.loads((tmp_path / "results.json").read_text())["tasks"]["gsm8k"]["n"] == 3
    assert evaluate.main([*args, "--scorer", "rule"]) == 0  # results cover the items asked for
    assert json.loads((tmp_path / "results.json").read_text())["tasks"]["gsm8k"]["n"] == 1
    assert len(read_jsonl(tmp_path / "records.jsonl")) == 3


def test_pasr_warns_when_the_template_closes_the_think_block(tmp_path, data_dir, model_dir, capsys):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    opener = "{{ '<|im_start|>assistant\n' }}"
    tokenizer.chat_template = tokenizer.chat_template.replace(opener, opener + "{{ '<think>\n\n</think>\n\n' }}")
    tokenizer.save_pretrained(model_dir.parent / "closed_think")
    for name in ("config.json", "model.safetensors"):
        (model_dir.parent / "closed_think" / name).write_bytes((model_dir / name).read_bytes())
    args = hf_args(data_dir, model_dir.parent / "closed_think", tmp_path, "--tasks", "gsm8k", "--limit", "1")
    assert evaluate.main(args) == 0
    assert "closes a think block" in capsys.readouterr().err


# --- OpenAI-compatible backend against a loopback fake server --------------------------------------


def question_of(request: FakeRequest) -> str:
    return next(m["content"] for m in request.messages() if m["role"] == "user")


def policy_server(request: FakeRequest) -> FakeReply:
    """Scripted model: PASR-format answers, a refinement that fixes GSM8K, self-refine revisions."""
    messages, question = request.messages(), question_of(request)
    if messages[-1]["content"] == evaluate.REVISE_PROMPT:
        return FakeReply(content="After review, the answer is 7.")
    if messages[0]["content"] != PASR_SYSTEM_PROMPT:
        return FakeReply(content="The answer is 8." if "apples" in question else "I think it is B.")
    if "apples" in question:
        return FakeReply(content="<think> 3 + 4 = 8 <refine> no: 3 + 4 = 7 </refine> so 7 </think> <answer>7</answer>")
    return FakeReply(content="<think> short </think> <answer>some text</answer>")


def judge_server(failing: bool):
    def respond(request: FakeRequest) -> FakeReply:
        text = request.user_text()
        if failing and "library" in text:
            return FakeReply(content="I would say it is quite good")  # unparseable: a judge failure
        return FakeReply(content="0.5" if "library" in text or "floods" in text.lower() else "1")

    return respond


def api_args(data_dir: Path, out: Path, base_url: str, *extra: str) -> list[str]:
    return [
        "--data-dir", str(data_dir), "--backend", "openai", "--base-url", base_url, "--api-model", "policy",
        "--output-dir", str(out), *extra,
    ]  # fmt: skip


def test_openai_backend_with_judge_failures_reported_then_rescored(tmp_path, data_dir, capsys):
    tasks = ["--tasks", "gsm8k", "drop", "xsum"]
    with serve(policy_server) as policy, serve(judge_server(failing=True)) as judge:
        judged = ["--judge-url", judge.url, "--judge-model", "judge"]
        assert evaluate.main(api_args(data_dir, tmp_path, policy.url, *tasks, *judged)) == exit_codes.INCOMPLETE
        generated = policy.received
        err = capsys.readouterr().err
        assert "1 judge failure" in err and "INCOMPLETE: xsum" in err and "unreachable" not in err
        results = json.loads((tmp_path / "results.json").read_text())
        assert results["average"]["incomplete_tasks"] == ["xsum"] and results["average"]["tasks"] == 2
        gsm8k_drop = (results["tasks"]["gsm8k"]["acc"] + results["tasks"]["drop"]["acc"]) / 2
        assert results["average"]["acc"] == pytest.approx(gsm8k_drop)  # xsum is not averaged
        assert "INCOMPLETE, not in the average: xsum" in (tmp_path / "results.md").read_text()
        assert results["tasks"]["xsum"]["judge_failures"] == 1 and results["tasks"]["xsum"]["scored"] == 1
        assert results["tasks"]["xsum"]["acc"] == 0.5  # the failure is excluded, not counted as 0
        failed = [r for r in read_jsonl(tmp_path / "records.jsonl") if r["judge_failed"]]
        assert len(failed) == 1 and failed[0]["acc"] is None and "unparseable" in failed[0]["judge_error"]
        assert "Judge failures remain" in (tmp_path / "results.md").read_text()
        sent = json.loads(next(r for r in judge.requests if "Overnight" in r.user_text()).body)
        assert "<answer>" not in sent["messages"][1]["content"]  # the judge sees the answer, not the reasoning

    with serve(policy_server) as policy, serve(judge_server(failing=False)) as judge:
        judged = ["--judge-url", judge.url, "--judge-model", "judge"]
        assert evaluate.main(api_args(data_dir, tmp_path, policy.url, *tasks, *judged)) == 0
        assert policy.received == 0 and judge.received == 1  # re-scored from the stored response only
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["average"]["judge_failures"] == 0 and results["tasks"]["xsum"]["acc"] == 0.5
    gsm8k = [r for r in read_jsonl(tmp_path / "records.jsonl") if r["task"] == "gsm8k"]
    assert generated == 7 and [r["acc"] for r in gsm8k] == [1.0, 0.0, 0.0]
    assert gsm8k[0]["num_refine"] == 1 and gsm8k[0]["is_refine"] and 0 < gsm8k[0]["refine_positions"][0] < 1
    assert results["tasks"]["gsm8k"]["refine_rate"] == 1 / 3 and results["tasks"]["gsm8k"]["format_ok_rate"] == 1.0


def test_openai_self_refine_scores_both_answers(tmp_path, data_dir):
    with serve(policy_server) as policy:
        args = api_args(data_dir, tmp_path, policy.url, "--tasks", "gsm8k", "--limit", "1", "--mode", "self_refine")
        assert evaluate.main(args) == 0
        assert policy.received == 2
        second = policy.requests[1].json()["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"] and second[2][
        "content"
    ] == "The answer is 8."
    (record,) = read_jsonl(tmp_path / "records.jsonl")
    assert record["initial"]["acc"] == 0.0 and record["acc"] == 1.0 and record["tokens"] == 2
    results = json.loads((tmp_path / "results.json").read_text())
    assert (
        results["tasks"]["gsm8k"]["initial_acc"] == 0.0 and "initial acc (%)" in (tmp_path / "results.md").read_text()
    )


def test_judged_tasks_need_a_judge_or_an_explicit_skip(tmp_path, data_dir, capsys):
    with serve(policy_server) as policy:
        args = api_args(data_dir, tmp_path, policy.url, "--tasks", "gsm8k", "drop", "--limit", "1")
        assert evaluate.main(args) == 1
        assert re.search(r"cannot score drop: .*--skip-judged-tasks", capsys.readouterr().err)
        assert policy.received == 0
        assert evaluate.main([*args, "--skip-judged-tasks"]) == exit_codes.INCOMPLETE
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["tasks"]) == {"gsm8k"} and "drop" in results["skipped_tasks"]
    assert "Skipped drop" in (tmp_path / "results.md").read_text()


def test_generation_errors_stop_the_run_and_keep_records(tmp_path, data_dir, capsys):
    with serve(lambda request: FakeReply(status=400)) as policy:
        assert evaluate.main(api_args(data_dir, tmp_path, policy.url, "--tasks", "gsm8k")) == 1
    err = capsys.readouterr().err
    assert "HTTP 400" in err and "rerun the same command to resume" in err


def test_fallback_scorer_judges_unresolved_rule_answers_and_counts_them(tmp_path, data_dir, capsys):
    with serve(policy_server) as policy, serve(judge_server(failing=False)) as judge:
        args = api_args(data_dir, tmp_path, policy.url, "--tasks", "gsm8k", "--scorer", "fallback")
        assert evaluate.main(args) == 1  # no judge configured
        assert "scorer 'fallback'" in capsys.readouterr().err and policy.received == 0
        assert evaluate.main([*args, "--judge-url", judge.url, "--judge-model", "judge"]) == 0
        assert judge.received == 2  # the two answers without a number ("some text")
    gsm8k = read_jsonl(tmp_path / "records.jsonl")
    assert [(r["acc"], r["scorer"], r["rule_unresolved"]) for r in gsm8k] == [
        (1.0, "rule", False),
        (1.0, "judge", True),
        (1.0, "judge", True),
    ]
    results = json.loads((tmp_path / "results.json").read_text())
    assert (results["tasks"]["gsm8k"]["rule_unresolved"], results["average"]["rule_fallbacks"]) == (2, 2)
    assert "no single answer in 2 response(s): 2 judged instead" in (tmp_path / "results.md").read_text()


# --- the paper's protocol on the paper's ten subsets ------------------------------------------------

PAPER_SETS = Path(os.environ.get("PASR_PAPER_EVAL_SETS") or DATA.parents[2] / "shared" / "paper_eval_sets")
needs_paper_sets = pytest.mark.skipif(
    not PAPER_SETS.is_dir(), reason=f"paper eval sets not found at {PAPER_SETS} (set PASR_PAPER_EVAL_SETS)"
)
PAPER_REFINING = "<think> first idea <refine> check the first idea </refine> settled </think> <answer>B</answer>"


def paper_policy(request: FakeRequest) -> FakeReply:
    """Raw prompts (no chat template) get a PASR-format reply on multiple choice, plain text elsewhere."""
    if not request.is_text_completion:
        return FakeReply(content="The answer is 7.")
    return FakeReply(content=PAPER_REFINING if "multiple-choice" in request.prompt() else "It is 7, I believe.")


def paper_judge(request: FakeRequest) -> FakeReply:
    return FakeReply(content="1" if "It is 7" in request.user_text() else "0.5")


@pytest.fixture(scope="module")
def paper_data_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("paper_sets")
    assert prepare_eval.main(["--output-dir", str(out), "--input-dir", str(PAPER_SETS)]) == 0
    return out


@pytest.mark.shared
@needs_paper_sets
def test_paper_protocol_on_all_ten_tasks(tmp_path, paper_data_dir, capsys):
    limit = 2
    with serve(paper_policy) as policy, serve(paper_judge) as judge:
        judged = ["--judge-url", judge.url, "--judge-model", "judge"]
        args = api_args(paper_data_dir, tmp_path / "paper", policy.url, "--protocol", "paper", *judged)
        assert evaluate.main([*args, "--limit", str(limit)]) == 0
        prompts = [request.prompt() for request in policy.requests]
        judge_requests = [request.json() for request in judge.requests]
    # Raw prompts: the task prefix and the question, no chat template, no system prompt; greedy, 1500 tokens.
    assert all(request.is_text_completion for request in policy.requests) and len(prompts) == 10 * limit
    records = read_jsonl(tmp_path / "paper" / "records.jsonl")
    assert {r["task"] for r in records} == set(evaluate.PAPER_TASKS) and len(records) == 10 * limit
    for record in records:
        assert record["prompt"] == PAPER_EVAL_PREFIXES[record["task"]] + record["question"] in prompts
    body = policy.requests[0].json()
    assert (body["temperature"], body["max_tokens"]) == (0.0, 1500) and "messages" not in body
    # Every task judged, on the whole response, with the authors' instruction per task, at temperature 0.2.
    assert len(judge_requests) == 10 * limit and all(r["temperature"] == 0.2 for r in judge_requests)
    systems = [r["messages"][0]["content"] for r in judge_requests]
    expected = {TaskType.MULTIPLE_CHOICE: 2 * limit, TaskType.SUMMARY: limit, TaskType.GENERAL: 7 * limit}
    assert {t: systems.count(judge_system_prompt(t)) for t in TaskType} == expected
    assert sum("<refine> check the first idea </refine>" in r["messages"][1]["content"] for r in judge_requests) == (
        3 * limit  # MMLU, ARC and CommonsenseQA, whose prefix says "multiple-choice": the reasoning is judged too
    )
    results = json.loads((tmp_path / "paper" / "results.json").read_text())
    assert results["config"]["protocol"] == "paper" and results["config"]["judge_target"] == "response"
    for task, metrics in results["tasks"].items():
        assert metrics["scored"] == limit and metrics["judge_failures"] == 0, task
    mc = [r for r in records if "multiple-choice" in r["prompt"]]
    plain = [r for r in records if "multiple-choice" not in r["prompt"]]
    assert all(r["acc"] == 0.5 and r["is_refine"] and r["format_ok"] for r in mc)
    # A response in no PASR format at all is still judged (it gets the judge's 1, not acc 0).
    assert all(r["acc"] == 1.0 and r["scorer"] == "judge" and not r["format_ok"] for r in plain)

    # compare refuses runs of different protocols; a run directory refuses to switch protocol.
    with serve(paper_policy) as policy:
        rules = api_args(paper_data_dir, tmp_path / "rules", policy.url, "--tasks", "gsm8k", "--limit", "1")
        assert evaluate.main(rules) == 0
        switched = api_args(paper_data_dir, tmp_path / "paper", policy.url, "--tasks", "gsm8k", "--limit", "1")
        assert evaluate.main(switched) == 1
    assert "protocol: 'paper' → 'rules'" in capsys.readouterr().err
    cmp = ["compare", str(tmp_path / "rules"), str(tmp_path / "paper"), "--output-dir", str(tmp_path / "cmp")]
    assert evaluate.main(cmp) == 1
    assert "protocol: 'rules' → 'paper'" in capsys.readouterr().err and not (tmp_path / "cmp").exists()


def test_paper_protocol_refuses_settings_it_cannot_honour(tmp_path, data_dir, capsys):
    base = api_args(data_dir, tmp_path, "http://127.0.0.1:9/v1", "--protocol", "paper", "--tasks", "gsm8k")
    for extra, message in (
        (["--judge-target", "answer"], "judges the whole response"),
        (["--chat-template-kwargs", '{"enable_thinking": true}'], "without a chat template"),
        (["--scorer", "rule"], "judges every task"),
        ([], "cannot score gsm8k"),  # no judge: the paper protocol judges every task
    ):
        assert evaluate.main([*base, *extra]) == 1
        assert message in capsys.readouterr().err


def test_paper_protocol_with_the_hf_backend_prompts_raw_text(tmp_path, data_dir, model_dir):
    with serve(paper_judge) as judge:
        args = hf_args(data_dir, model_dir, tmp_path, "--tasks", "xsum", "--limit", "1", "--protocol", "paper")
        assert evaluate.main([*args, "--mode", "standard", "--judge-url", judge.url, "--judge-model", "j"]) == 0
    (record,) = read_jsonl(tmp_path / "records.jsonl")
    assert record["prompt"] == PAPER_EVAL_PREFIXES["xsum"] + record["question"]
    assert record["prompt_tail"] == record["prompt"][-64:]  # no chat template around it
    assert record["tokens"] == 4 and record["finish_reason"] == "length"
    # The tiny random model's tokens may decode to nothing; an empty response is never sent to the judge.
    judged = bool(record["response"].strip())
    assert judge.received == int(judged) and record["scorer"] == ("judge" if judged else "none")
    assert record["acc"] == (0.5 if judged else 0.0)


def test_runs_recorded_before_the_protocol_existed_resume_as_rules(tmp_path):
    config = evaluate.RunConfig(
        model="m", api_model=None, backend="hf", mode="pasr", temperature=0.0, top_p=1.0, max_new_tokens=4,
        num_samples=1, seed=0, chat_template_kwargs={}, scorer="auto", judge_model=None, score_invalid_format=False,
    )  # fmt: skip
    recorded = {k: v for k, v in dataclasses.asdict(config).items() if k not in evaluate.SETTINGS_BEFORE_RECORDED}
    (tmp_path / "config.json").write_text(json.dumps(recorded))
    (tmp_path / evaluate.RECORDS).write_text('{"key": "gsm8k/0/0"}\n')  # a run that holds records binds
    evaluate.check_resume(tmp_path, config, rescore=False)  # an old run is a rules run: it resumes
    with pytest.raises(evaluate.RunError, match=r"protocol: 'rules' → 'paper'"):
        evaluate.check_resume(tmp_path, dataclasses.replace(config, protocol="paper"), rescore=False)
    with pytest.raises(evaluate.RunError, match=r"judge_target: 'answer' → 'response'.*--rescore"):
        evaluate.check_resume(tmp_path, dataclasses.replace(config, judge_target="response"), rescore=False)


# --- compare on the shared question set; settings that make runs incomparable ---------------------


def test_compare_uses_the_questions_both_runs_scored(tmp_path, data_dir, capsys):
    with serve(policy_server) as policy:
        gsm8k = ["--tasks", "gsm8k"]
        assert evaluate.main(api_args(data_dir, tmp_path / "base", policy.url, *gsm8k, "--limit", "1")) == 0
        assert evaluate.main(api_args(data_dir, tmp_path / "cand", policy.url, *gsm8k, "--mode", "standard")) == 0
        assert evaluate.main(api_args(data_dir, tmp_path / "same", policy.url, *gsm8k, "--limit", "1")) == 0
    # the candidate scored 3 questions (acc 0, 0, 0 as standard answers), the baseline 1 (acc 1 with PASR)
    out = tmp_path / "cmp"
    code = evaluate.main(["compare", str(tmp_path / "base"), str(tmp_path / "cand"), "--output-dir", str(out)])
    assert code == exit_codes.INCOMPLETE
    assert "WARNING: gsm8k: the runs scored different questions" in capsys.readouterr().err
    comparison = json.loads((out / "comparison.json").read_text())
    row = comparison["tasks"]["gsm8k"]
    assert (row["n"], row["n_baseline"], row["n_candidate"]) == (1, 1, 3) and row["sets_differ"]
    assert (row["acc_baseline"], row["acc_candidate"], row["acc_change"]) == (1.0, 0.0, -1.0)
    assert row["paired"] == {"better": 0, "worse": 1, "same": 0}
    assert (row["acc_baseline_own"], row["acc_candidate_own"]) == (1.0, 0.0)
    assert comparison["tasks"]["average"]["acc_change"] == -1.0 and comparison["sets_differ"]
    markdown = (out / "comparison.md").read_text()
    assert "**WARNING: gsm8k: the runs scored different questions" in markdown and "n (both scored)" in markdown
    # same questions, same settings: a clean comparison exits 0
    assert evaluate.main(["compare", str(tmp_path / "base"), str(tmp_path / "same"), "--output-dir", str(out)]) == 0
    assert json.loads((out / "comparison.json").read_text())["warnings"] == []


def test_compare_refuses_runs_with_different_settings_unless_allowed(tmp_path, data_dir, capsys):
    with serve(policy_server) as policy:
        base = api_args(data_dir, tmp_path / "base", policy.url, "--tasks", "gsm8k", "--limit", "1")
        assert evaluate.main(base) == 0
        other = api_args(data_dir, tmp_path / "cand", policy.url, "--tasks", "gsm8k", "--limit", "1")
        assert evaluate.main([*other, "--max-new-tokens", "100"]) == 0
    cmp = ["compare", str(tmp_path / "base"), str(tmp_path / "cand"), "--output-dir", str(tmp_path / "cmp")]
    assert evaluate.main(cmp) == 1
    assert "max_new_tokens: 1500 → 100" in capsys.readouterr().err and not (tmp_path / "cmp").exists()
    assert evaluate.main([*cmp, "--allow-different-settings"]) == exit_codes.INCOMPLETE
    assert "max_new_tokens" in (tmp_path / "cmp" / "comparison.md").read_text()
    # a setting stored by a newer version (here: invented) is covered without naming it anywhere
    results_path = tmp_path / "cand" / "results.json"
    results = json.loads(results_path.read_text())
    results["config"] |= {"max_new_tokens": 1500, "invented_setting": "on"}
    results_path.write_text(json.dumps(results))
    assert evaluate.main(cmp) == 1
    assert "invented_setting: '(not recorded)' → 'on'" in capsys.readouterr().err


# --- exit codes and failed starts --------------------------------------------------------------------


def closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_dead_judge_is_named_once_and_the_run_is_incomplete(tmp_path, data_dir, capsys):
    judge = ["--judge-url", closed_port_url(), "--judge-model", "judge", "--judge-max-retries", "0"]
    with serve(policy_server) as policy:
        args = api_args(data_dir, tmp_path, policy.url, "--tasks", "gsm8k", "drop", *judge)
        assert evaluate.main(args) == exit_codes.INCOMPLETE
    err = capsys.readouterr().err
    assert len(re.findall("unreachable or misconfigured", err)) == 1 and "failed all 2 request(s)" in err
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["tasks"]["drop"]["judge_failures"] == 2 and results["average"]["incomplete_tasks"] == ["drop"]
    assert results["average"]["acc"] == results["tasks"]["gsm8k"]["acc"] and results["average"]["tasks"] == 1
    assert "**average** (1 complete tasks)" in (tmp_path / "results.md").read_text()


def test_bad_model_path_is_a_short_error_and_does_not_block_the_rerun(tmp_path, data_dir, model_dir, capsys):
    args = hf_args(data_dir, tmp_path / "no_such_model", tmp_path / "run", "--tasks", "gsm8k", "--limit", "1")
    assert evaluate.main(args) == 1
    err = capsys.readouterr().err
    assert "cannot load model" in err and "Traceback" not in err and len(err.strip().splitlines()) <= 4
    fixed = hf_args(data_dir, model_dir, tmp_path / "run", "--tasks", "gsm8k", "--limit", "1")
    assert evaluate.main(fixed) == 0


def test_unknown_task_is_named(tmp_path, data_dir, capsys):
    assert evaluate.main(api_args(data_dir, tmp_path, "http://127.0.0.1:1/v1", "--tasks", "gsm8")) == 1
    err = capsys.readouterr().err
    assert "unknown task 'gsm8'" in err and "gsm8k" in err and "parquet" not in err


def test_unreachable_server_leaves_nothing_that_blocks_the_corrected_rerun(tmp_path, data_dir, capsys):
    args = ["--tasks", "gsm8k", "--limit", "1"]
    wrong = api_args(data_dir, tmp_path, closed_port_url(), *args)
    assert evaluate.main([*wrong, "--api-model", "typo"]) == 1
    assert "rerun" in capsys.readouterr().err
    with serve(policy_server) as policy:
        assert evaluate.main(api_args(data_dir, tmp_path, policy.url, *args)) == 0  # another --api-model is fine
    assert json.loads((tmp_path / "config.json").read_text())["api_model"] == "policy"


def test_compare_leaves_out_a_question_one_run_could_not_score():
    from recipe.pasr.tools.eval_report import compare

    def run(accs):
        records = [
            {"task": "drop", "index": i, "sample": 0, "acc": acc, "tokens": 10, "judge_failed": acc is None}
            for i, acc in enumerate(accs)
        ]
        return {"config": {}, "tasks": {"drop": {}}}, records

    (base, base_records), (cand, cand_records) = run([0.0, 0.0, 1.0]), run([1.0, None, 1.0])
    row = compare(base, cand, base_records, cand_records)["tasks"]["drop"]
    assert (row["n"], row["acc_baseline"], row["acc_candidate"]) == (2, 0.5, 1.0) and row["sets_differ"]
    assert row["judge_failures"] == 1 and row["paired"] == {"better": 1, "worse": 0, "same": 1}
    (same, same_records) = run([None, 0.0, 1.0])
    shared_failure = compare(same, same, same_records, same_records)
    assert not shared_failure["tasks"]["drop"]["sets_differ"] and shared_failure["warnings"] == []


def test_score_invalid_format_defaults_to_the_reward_config_and_can_be_turned_off():
    base = ["run", "--data-dir", "d", "--output-dir", "o"]
    parser = evaluate.build_parser()
    assert parser.parse_args(base).score_invalid_format is RewardConfig().score_invalid_format is True
    assert parser.parse_args([*base, "--no-score-invalid-format"]).score_invalid_format is False
