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

"""The offline scoring CLI (``python -m recipe.pasr.tools.score``): formats, order, streaming, errors, judge path."""

from __future__ import annotations

import asyncio
import json
import random
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recipe.pasr import exit_codes
from recipe.pasr.reward import RewardConfig
from recipe.pasr.scoring.sample import SampleScorer, ScorerMode
from recipe.pasr.tools.score import RunOptions, main, score_file
from tests.fakes.judge_server import FakeJudgeServer, FakeReply, FakeRequest

REPO = Path(__file__).resolve().parents[1]
QUESTION = "Tom has 3 bags with 4 apples each. How many apples does he have?"
REFERENCE = "3 * 4 = 12\n#### 12"


def pasr_response(answer: str | None, refine: bool = False) -> str:
    refinement = " <refine>Check: 3 bags of 4 is 3 * 4.</refine>" if refine else ""
    think = f"<think>3 * 4 = 12.{refinement}</think>"
    return f"{think}\n<answer>{answer}</answer>" if answer is not None else f"{think}\nIt is 12."


# kind -> response: right/wrong answers, with and without refinement, and one without an answer block
KINDS = {
    "plain_right": pasr_response("12"),
    "plain_wrong": pasr_response("7"),
    "refine_right": pasr_response("12", refine=True),
    "refine_wrong": pasr_response("13", refine=True),
    "no_answer": pasr_response(None),
}


def record(uid: str, kind: str, index: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{uid}/{index}",
        "uid": uid,
        "data_source": "gsm8k",
        "question": QUESTION,
        "ground_truth": REFERENCE,
        "response": KINDS[kind],
        **extra,
    }


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def random_groups(groups: int, seed: int = 0) -> list[dict[str, Any]]:
    """Adjacent groups of 3-8 random kinds, so baselines (and bonuses) differ from group to group."""
    rng = random.Random(seed)
    return [
        record(f"g{group}", rng.choice(list(KINDS)), index)
        for group in range(groups)
        for index in range(rng.randint(3, 8))
    ]


def run(tmp_path: Path, rows: list[Any], *flags: str) -> tuple[int, Path]:
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    output = tmp_path / "out.jsonl"
    return main(["--input", str(source), "--output", str(output), *flags]), output


# --- output -----------------------------------------------------------------------------------------


def test_records_keep_their_fields_and_order_and_gain_the_reward(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    rows = [record("q", kind, index) for index, kind in enumerate(KINDS)] + [record("r", "refine_right", 9)]
    code, output = run(tmp_path, rows)
    assert code == 0
    out = read_jsonl(output)
    assert [line["id"] for line in out] == [row["id"] for row in rows]
    assert all(line.items() >= row.items() for line, row in zip(out, rows, strict=True))  # input fields kept
    by_kind = dict(zip(KINDS, out, strict=False))
    # in_group baseline of "q": non-refining policy responses plain_right, plain_wrong, no_answer -> 1/3
    assert by_kind["plain_right"]["baseline"] == pytest.approx(1 / 3)
    assert (by_kind["refine_right"]["refine_bonus"], by_kind["refine_right"]["score"]) == (1.0, 3.0)
    assert (by_kind["refine_wrong"]["refine_bonus"], by_kind["refine_wrong"]["score"]) == (-1.0, 0.0)
    assert by_kind["no_answer"].items() >= {"format_ok": False, "acc": 0.0, "answer": None, "score": -1.0}.items()
    assert out[-1]["baseline_source"] == "none" and out[-1]["refine_bonus"] == 0.0  # alone: no baseline
    summary = capsys.readouterr().err
    assert "6 responses (+0 standard) in 2 groups" in summary
    assert "(3 refining: 1 win / 1 loss / 0 tie, 1 without baseline)" in summary
    assert "1 without an extractable answer, scored 0" in summary


def test_missing_answer_acc_and_baseline_flags(tmp_path: Path):
    rows = [record("q", "no_answer", 0), record("q", "refine_right", 1, baseline_acc=1.0)]
    code, output = run(tmp_path, rows, "--missing-answer-acc", "0.5", "--baseline", "precomputed")
    assert code == 0
    no_answer, refined = read_jsonl(output)
    assert no_answer["acc"] == 0.5 and no_answer["score"] == -0.5
    assert (refined["baseline_source"], refined["refine_outcome"], refined["score"]) == ("precomputed", "tie", 1.5)


def test_demo_scores_the_bundled_examples(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["--demo", "--output", str(tmp_path / "demo.jsonl")]) == 0
    table, summary = capsys.readouterr()
    assert table.splitlines()[0].split()[:3] == ["#", "uid", "role"]
    assert "in 3 groups" in summary and "refine rate" in summary
    cases = {row["note"]: row for row in read_jsonl(tmp_path / "demo.jsonl")}
    assert cases["refined, right: beats baseline"]["refine_outcome"] == "win"
    assert cases["needless refinement: tie"]["refine_bonus"] == -0.5
    assert cases["refined into a wrong answer"]["refine_bonus"] == -1.0
    assert cases["no refinement, right"]["refine_bonus"] == 0.0
    empty = cases["empty <refine>: not a refinement"]
    # invalid format (-1), its right answer still scored (+1): score_invalid_format is on by default
    assert (empty["is_refine"], empty["format_ok"], empty["acc"], empty["score"]) == (False, False, 1.0, 0.0)
    assert cases["no <answer> block"]["scorer"] == "none"
    assert cases["standard prompt, right"]["role"] == "standard"


def test_demo_as_a_subprocess_with_paired_baseline():
    command = [sys.executable, "-m", "recipe.pasr.tools.score", "--demo", "--baseline", "paired"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    eggs = [line.split() for line in done.stdout.splitlines() if " eggs " in line]
    assert [row[6] for row in eggs[:3]] == ["0.5"] * 3  # baseline: mean acc of the two standard responses
    assert "Baseline (paired)" in done.stdout and "in 3 groups" in done.stderr


# --- streaming and grouping -------------------------------------------------------------------------


def test_interleaved_groups_score_like_adjacent_ones(tmp_path: Path):
    adjacent = random_groups(12)
    interleaved = random.Random(1).sample(adjacent, len(adjacent))
    assert main(["--input", str(write_jsonl(tmp_path / "a.jsonl", adjacent)), "--output", str(tmp_path / "a.out")]) == 0
    code = main(["--input", str(write_jsonl(tmp_path / "i.jsonl", interleaved)), "--output", str(tmp_path / "i.out")])
    assert code == 0
    scored_adjacent, scored_interleaved = read_jsonl(tmp_path / "a.out"), read_jsonl(tmp_path / "i.out")
    assert [row["id"] for row in scored_interleaved] == [row["id"] for row in interleaved]
    assert {row["id"]: row for row in scored_interleaved} == {row["id"]: row for row in scored_adjacent}
    assert len({row["baseline"] for row in scored_adjacent}) > 2  # the groups really differ


async def test_adjacent_groups_hold_at_most_one_group(tmp_path: Path):
    rows = [record(f"g{group}", kind, index) for group in range(30) for index, kind in enumerate([*KINDS] * 2)][:240]
    path = write_jsonl(tmp_path / "in.jsonl", rows)
    scorer = SampleScorer(RewardConfig(), ScorerMode.RULE)
    emitted: list[dict[str, Any]] = []
    summary = await score_file(path, emitted.append, scorer, RunOptions())
    assert (len(emitted), summary.groups, summary.max_held) == (240, 24, 10)
    rotated = write_jsonl(tmp_path / "rr.jsonl", [rows[(i % 24) * 10 + i // 24] for i in range(240)])
    summary = await score_file(rotated, emitted.append, scorer, RunOptions())
    assert summary.max_held > 200  # round-robin groups: held until each group's last record arrives


# --- bad input --------------------------------------------------------------------------------------

GOOD = record("q", "plain_right")


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"uid": "q", "response": ', "line 2: invalid JSON"),
        ("[1, 2]", "line 2: expected a JSON object, got list"),
        ({k: v for k, v in GOOD.items() if k != "response"}, "line 2: field 'response' is missing"),
        (GOOD | {"question": None}, "line 2: field 'question' is null"),
        (GOOD | {"response": 12}, "line 2: field 'response' must be a string, got int"),
        (GOOD | {"uid": True}, "line 2: field 'uid' must be a string or an integer, got bool"),
        (GOOD | {"data_source": "nope"}, "line 2: field 'data_source': unknown data_source 'nope'"),
        (GOOD | {"role": "critic"}, "line 2: field 'role' must be 'policy' or 'standard'"),
        (GOOD | {"baseline_acc": 3}, "line 2: field 'baseline_acc' must be in [0, 1]"),
        (GOOD | {"ground_truth": "no final number"}, "line 2: field 'ground_truth': GSM8K reference"),
    ],
)
def test_malformed_line_stops_with_its_number(tmp_path: Path, capsys, bad_line: Any, message: str):
    code, output = run(tmp_path, [GOOD, bad_line, GOOD])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not output.exists() and not list(tmp_path.glob("*.partial"))  # nothing half-written


def test_skip_invalid_skips_and_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    bad_reference = record("q", "refine_right", 3) | {"ground_truth": "no final number"}  # found while scoring
    rows = [record("q", "plain_right", 0), "not json", record("q", "refine_right", 1), bad_reference, "", "{}"]
    code, output = run(tmp_path, rows, "--skip-invalid")
    assert code == exit_codes.INCOMPLETE  # lines left out: written, counted, not clean
    assert [row["id"] for row in read_jsonl(output)] == ["q/0", "q/1"]
    err = capsys.readouterr().err
    assert "skipped line 2: invalid JSON" in err and "skipped line 6: field 'uid' is missing" in err
    assert "skipped line 4: field 'ground_truth'" in err
    assert re.search(r"skipped lines\s+3$", err, re.MULTILINE)  # the blank line 5 is not a record


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--scorer", "rule"], "line 2 (uid 'd'): data_source 'drop' has no rule scorer"),
        ([], "line 2 (uid 'd'): data_source 'drop' needs the judge"),
    ],
)
def test_a_record_the_scorer_cannot_handle_is_named(tmp_path: Path, capsys, flags: list[str], message: str):
    code, _ = run(tmp_path, [GOOD, GOOD | {"uid": "d", "data_source": "drop"}], *flags, "--skip-invalid")
    assert code == 2  # a setup error, not a malformed line: --skip-invalid does not hide it
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--input", "x.jsonl"],
        ["--input", "/nonexistent.jsonl", "--output", "out.jsonl"],
        ["--demo", "--input", "x"],
        ["--scorer", "judge", "--input", "{input}", "--output", "out.jsonl"],
        ["--scorer", "fallback", "--input", "{input}", "--output", "out.jsonl"],  # needs a judge
        ["--judge-url", "http://127.0.0.1:1/v1", "--input", "{input}", "--output", "out.jsonl"],
        ["--judge-failure-max-rate", "2", "--demo"],
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, argv: list[str]):
    source = write_jsonl(tmp_path / "in.jsonl", [GOOD])
    with pytest.raises(SystemExit) as exc:
        main([arg.format(input=source) for arg in argv])
    assert exc.value.code == 2


# --- verl rollout dumps -----------------------------------------------------------------------------


def test_verl_rollout_dump_needs_data_source_and_groups_by_prompt_uid(tmp_path: Path, capsys):
    prompt = f"system\nYou reason.\nuser\n{QUESTION}\nassistant\n"
    dump = [
        {"input": prompt, "output": KINDS[kind], "gts": REFERENCE, "score": 9.0, "step": 3, "uid": f"p1_{s}_0"}
        for s, kind in enumerate(["plain_right", "refine_right", "refine_wrong"])
    ] + [{"input": prompt, "output": KINDS["refine_right"], "gts": 12, "score": 9.0, "step": 3, "uid": "p2_0_0"}]
    code, _ = run(tmp_path, dump)
    assert code == 2 and "line 1: field 'data_source' is missing (pass --data-source" in capsys.readouterr().err
    code, output = run(tmp_path, dump, "--data-source", "openai/gsm8k")
    assert code == 0
    out = read_jsonl(output)
    assert [row["refine_outcome"] for row in out] == [None, "tie", "loss", None]  # p1's 3 sessions: one group
    assert [row["pasr_score"] for row in out] == [2.0, 1.5, 0.0, 2.0]  # verl's own score is kept beside ours
    assert [row["score"] for row in out] == [9.0] * 4 and all(row["data_source"] == "openai/gsm8k" for row in out)
    assert out[3]["acc"] == 1.0 and out[0]["step"] == 3 and out[0]["input"] == prompt


# --- judge path (fake loopback server) --------------------------------------------------------------


def judge_by_answer(request: FakeRequest) -> FakeReply:
    """Answers containing FAIL get an unparseable reply; others 1 if they contain "right", else 0.

    The markers appear only in the judged text (never in the test's question or reference).
    """
    text = request.user_text()
    if "FAIL" in text:
        return FakeReply(content="I would rather not say")
    return FakeReply(content="1" if "right" in text else "0")


@pytest.fixture
def judge_server() -> Iterator[FakeJudgeServer]:
    """The fake judge on 127.0.0.1 in its own thread and loop: main() runs its own asyncio.run."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = FakeJudgeServer(judge_by_answer)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    yield server
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def drop_record(uid: str, index: int, answer: str, refine: bool = False) -> dict[str, Any]:
    refinement = "<refine>Re-read the passage.</refine>" if refine else ""
    return {
        "id": f"{uid}/{index}",
        "uid": uid,
        "data_source": "drop",
        "question": "Who scored the first touchdown?",
        "ground_truth": "Smith",
        "response": f"<think>The passage says so. {refinement}</think>\n<answer>{answer}</answer>",
    }


def judge_flags(server: FakeJudgeServer, *extra: str) -> list[str]:
    return ["--judge-url", server.url, "--judge-model", "fake", "--judge-max-retries", "0", *extra]


def test_judge_scores_open_tasks_and_a_failure_neutralises_its_group(
    tmp_path: Path, judge_server: FakeJudgeServer, capsys, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PASR_JUDGE_API_KEY", "sk-test-secret-123")
    rows = [
        drop_record("a", 0, "right: Smith"),
        record("math", "plain_right"),  # rule-scored, between judged ones: order must hold
        drop_record("a", 1, "wrong: Jones"),
        drop_record("a", 2, "right: Smith", refine=True),
        drop_record("b", 0, "right: Smith"),
        drop_record("b", 1, "FAIL", refine=True),
    ]
    code, output = run(tmp_path, rows, *judge_flags(judge_server))
    assert code == exit_codes.INCOMPLETE  # one judge failure: written in full, marked, not a clean result
    out = read_jsonl(output)
    assert [row["id"] for row in out] == [row["id"] for row in rows]
    assert [row["scorer"] for row in out] == ["judge", "rule", "judge", "judge", "judge", "judge"]
    assert [row["score"] for row in out[:4]] == [2.0, 2.0, 1.0, 3.0]  # a/2 refined and beat baseline 0.5
    failed = out[5]
    assert failed["judge_failed"] and failed["acc"] is None and "unparseable" in failed["judge_error"]
    assert [(row["score"], row["neutralized"]) for row in out[4:]] == [(0.0, True), (0.0, True)]
    assert out[4]["judge_failed"] is False
    err = capsys.readouterr().err
    assert "judge failures    1  (2 responses neutralised)" in err
    # the judge saw only the answer, with the key in the header and nowhere in what we wrote
    assert all("<think>" not in request.user_text() for request in judge_server.requests)
    assert judge_server.requests[0].headers["authorization"] == "Bearer sk-test-secret-123"
    assert "sk-test-secret" not in err + output.read_text()


def test_identical_answers_to_a_prompt_are_judged_once(tmp_path: Path, judge_server: FakeJudgeServer, capsys):
    rows = [drop_record("a", 0, "right: Smith"), drop_record("a", 1, "right: Smith", refine=True)]
    rows += [drop_record("a", 2, "wrong: Jones"), drop_record("a", 3, "right: Smith")]
    code, output = run(tmp_path, rows, *judge_flags(judge_server))
    assert code == 0
    out = read_jsonl(output)
    assert [row["judge_deduplicated"] for row in out].count(True) == 2 and len(judge_server.requests) == 2
    assert [row["acc"] for row in out] == [1.0, 1.0, 0.0, 1.0]  # the shared verdict, as if judged again
    assert "judge deduplicated 2" in capsys.readouterr().err


def test_judge_target_response_sends_the_whole_response(tmp_path: Path, judge_server: FakeJudgeServer):
    code, _ = run(tmp_path, [drop_record("a", 0, "right")], *judge_flags(judge_server, "--judge-target", "response"))
    assert code == 0 and "<think>" in judge_server.requests[0].user_text()


@pytest.mark.parametrize(
    ("flags", "code", "message"),
    [
        (["--judge-failure-policy", "raise"], 1, "judge failure: judge failed on 1 response"),
        (["--judge-failure-min-count", "3", "--judge-failure-max-rate", "0.2"], 3, "judge failure rate 1/3"),
        (["--judge-failure-policy", "zero"], 3, "judge failures    1  (0 responses neutralised)"),
    ],
)
def test_judge_failure_policy_and_rate_flags(
    tmp_path: Path, judge_server: FakeJudgeServer, capsys, flags: list[str], code: int, message: str
):
    rows = [drop_record("a", 0, "right"), drop_record("a", 1, "FAIL"), drop_record("a", 2, "wrong")]
    assert run(tmp_path, rows, *judge_flags(judge_server, *flags))[0] == code
    assert message in capsys.readouterr().err


# --- benchmark --------------------------------------------------------------------------------------


def test_scaling_benchmark_smoke():
    command = [sys.executable, str(REPO / "benchmarks" / "score_cli_scaling.py"), "--sizes", "40,80", "--repeats", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    tail = dict(line.split("=", 1) for line in done.stdout.strip().splitlines()[-2:])
    assert set(tail) == {"cli_time_ratio_80_vs_40", "cli_peak_rss_ratio_80_vs_40"}
    assert all(float(value) > 0 for value in tail.values())


@pytest.mark.parametrize(("scorer", "judged"), [("fallback", 2), ("auto", 0)])
def test_fallback_scorer_sends_unresolved_rule_answers_to_the_judge(
    tmp_path: Path, judge_server: FakeJudgeServer, capsys, scorer: str, judged: int
):
    rows = [
        record("a", "plain_right", 0),
        {**record("a", "plain_right", 1), "response": pasr_response("twelve, right")},  # no number
        {**record("a", "plain_right", 2), "response": pasr_response("eleven or thirteen")},
        drop_record("b", 0, "right: Smith"),  # a judged task: not a fallback
    ]
    code, output = run(tmp_path, rows, *judge_flags(judge_server, "--scorer", scorer))
    out = [json.loads(line) for line in output.read_text().splitlines()]
    assert code == 0 and len(judge_server.requests) == 1 + judged
    assert [(row["rule_unresolved"], row["scorer"], row["acc"]) for row in out[:3]] == [
        (False, "rule", 1.0),
        (True, "judge" if judged else "rule", 1.0 if judged else 0.0),
        (True, "judge" if judged else "rule", 0.0),
    ]
    assert f"rule unresolved   2  (no single answer found; rule_fallbacks: {judged} judged" in capsys.readouterr().err


# --- incomplete results, dead judges, empty input, closed stdout -----------------------------------


def closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


@pytest.mark.parametrize("responses", [12, 60])
def test_dead_judge_writes_every_line_marked_and_is_named_once(tmp_path: Path, capsys, responses: int):
    rows = [drop_record(f"g{i // 3}", i % 3, "right: Smith") for i in range(responses)]
    flags = ["--judge-url", closed_port_url(), "--judge-model", "judge", "--judge-max-retries", "0"]
    code, output = run(tmp_path, rows, *flags, "--judge-concurrency", "4")  # at most 8 requests in flight
    assert code == exit_codes.INCOMPLETE
    out = read_jsonl(output)
    assert [row["id"] for row in out] == [row["id"] for row in rows] and all(row["judge_failed"] for row in out)
    err = capsys.readouterr().err
    assert err.count("unreachable or misconfigured") == 1 and f"failed all {responses} request(s)" in err
    not_sent = [row for row in out if row["judge_error"].startswith("not sent: judge given up on")]
    # past --judge-failure-min-count (50) failures the run stops asking (at most 50 + 8 were sent); the rest
    # is marked instead
    assert ("STOPPED JUDGING" in err) == (responses > 50) and (len(not_sent) > 0) == (responses > 50)


def test_empty_input_is_an_error(tmp_path: Path, capsys):
    code, output = run(tmp_path, [])
    assert code == 2 and "holds no records" in capsys.readouterr().err and not output.exists()


def test_closed_stdout_ends_without_a_traceback():
    command = [sys.executable, "-m", "recipe.pasr.tools.score", "--demo"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    process.stdout.close()  # the reader is gone before anything is written, as with `| head -0`
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1 and "Traceback" not in err and "BrokenPipe" not in err
