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

"""``recipe.pasr.tools.analyze`` on evaluation records and verl rollout dumps shaped like the real ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recipe.pasr.tools import analyze

DATA = Path(__file__).resolve().parent / "data"


def test_eval_records_positions_lengths_and_flips():
    result = analyze.analyze(analyze.read_inputs([DATA / "eval_records.jsonl"]))
    overall = result["tasks"]["all"]
    assert (overall["responses"], overall["refining"]) == (7, 6)
    assert overall["flips"] == {
        "wrong_to_right": 2,  # GSM8K 8 → 7, MMLU B → C
        "right_to_wrong": 1,  # GSM8K 18 → 21
        "right_to_right": 0,
        "wrong_to_wrong": 0,
        "unjudged": 3,  # no earlier answer stated; a judged task; a judge failure
    }
    assert result["tasks"]["mmlu"]["refine_rate"] == 0.5 and result["tasks"]["drop"]["refine_rate"] == 1.0
    assert result["tasks"]["mmlu"]["refines_per_refining_response"] == 2.0
    assert all(0.0 <= p < 1.0 for p in overall["positions"]) and len(overall["positions"]) == 7
    assert sum(overall["position_histogram"]) == 7
    assert overall["positions"][2] < 0.15  # GSM8K 2 refines right at the start of its reasoning
    assert overall["acc_refining"] == pytest.approx(0.8) and overall["acc_not_refining"] == 1.0
    assert overall["lengths"][0] == len(["that", "sum", "is", "wrong:", "3", "+", "4", "=", "7"])


def test_self_refine_flips_come_from_the_scored_answers():
    result = analyze.analyze(analyze.read_inputs([DATA / "self_refine_records.jsonl"]))
    flips = result["tasks"]["all"]["flips"]
    assert flips["wrong_to_right"] == 1 and flips["right_to_right"] == 1 and flips["unjudged"] == 0


def test_rollout_dumps_by_step_with_rule_scoring(tmp_path):
    assert analyze.main([str(DATA / "rollout_dump"), "--task", "gsm8k", "--output-dir", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "analysis.json").read_text())
    assert list(result["steps"]) == ["3", "10"]
    assert result["steps"]["3"]["refine_rate"] == 0.0 and result["steps"]["10"]["refine_rate"] == 1.0
    assert result["tasks"]["gsm8k"]["flips"]["wrong_to_right"] == 1
    assert result["tasks"]["gsm8k"]["flips"]["right_to_right"] == 1
    assert result["tasks"]["gsm8k"]["acc_not_refining"] == 0.5  # the unformatted response scores 0
    assert "| 10 | 2 | 100.0 |" in (tmp_path / "analysis.md").read_text()
    assert (tmp_path / "analysis.png").read_bytes()[:4] == b"\x89PNG"


def test_dumps_without_a_task_are_an_error_naming_the_line(tmp_path, capsys):
    assert analyze.main([str(DATA / "rollout_dump" / "10.jsonl"), "--output-dir", str(tmp_path)]) == 1
    assert "10.jsonl:1: the line names no data_source; pass --task" in capsys.readouterr().err


def test_reads_the_output_of_pasr_score(tmp_path):
    from recipe.pasr.tools import score

    dump = tmp_path / "dump.jsonl"
    lines = (DATA / "rollout_dump" / "10.jsonl").read_text().splitlines()
    dump.write_text("\n".join(json.dumps(json.loads(line) | {"acc": 0.25}) for line in lines) + "\n")
    assert score.main(["--input", str(dump), "--output", str(tmp_path / "scored.jsonl"), "--data-source", "gsm8k"]) == 0
    from_dump = analyze.analyze(analyze.read_inputs([tmp_path / "scored.jsonl"]))  # data_source recorded
    from_task = analyze.analyze(analyze.read_inputs([DATA / "rollout_dump" / "10.jsonl"], task="gsm8k"))
    assert from_dump["tasks"]["gsm8k"]["flips"] == from_task["tasks"]["gsm8k"]["flips"]
    assert from_dump["tasks"]["gsm8k"]["acc_refining"] == from_task["tasks"]["gsm8k"]["acc_refining"] == 1.0  # not 0.25
    own = tmp_path / "own.jsonl"
    own.write_text(json.dumps({"uid": 1, "response": "<think>a</think> <answer>7</answer>", "ground_truth": "#### 7",
                               "data_source": "gsm8k", "question": "q"}) + "\n")  # fmt: skip
    assert score.main(["--input", str(own), "--output", str(tmp_path / "own_scored.jsonl")]) == 0
    result = analyze.analyze(analyze.read_inputs([tmp_path / "own_scored.jsonl"]))
    assert result["tasks"]["gsm8k"]["responses"] == 1 and result["tasks"]["gsm8k"]["acc_not_refining"] == 1.0


def test_empty_input_is_an_error(tmp_path, capsys):
    (tmp_path / "empty.jsonl").write_text("")
    assert analyze.main([str(tmp_path / "empty.jsonl"), "--output-dir", str(tmp_path / "out")]) == 1
    assert "no responses" in capsys.readouterr().err


def test_evaluation_run_dir_and_standard_records(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    records = (DATA / "eval_records.jsonl").read_text().splitlines()
    standard = json.loads(records[0]) | {"mode": "standard", "index": 9}
    (run / "records.jsonl").write_text("\n".join([*records, json.dumps(standard)]) + "\n")
    assert analyze.main([str(run), "--output-dir", str(tmp_path / "out")]) == 3  # a judge failure in the run
    result = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert result["skipped"] == {
        "standard responses (no refinement)": 1,
        "responses without an accuracy (not scored in the source, e.g. a judge failure)": 1,
    }
    assert "Left out: 1 standard responses" in (tmp_path / "out" / "analysis.md").read_text()


def test_unknown_input_shape_is_an_error(tmp_path, capsys):
    (tmp_path / "x.jsonl").write_text('{"foo": 1}\n')
    assert analyze.main([str(tmp_path / "x.jsonl"), "--output-dir", str(tmp_path / "out")]) == 1
    assert "x.jsonl:1: neither an evaluation record nor a verl dump line" in capsys.readouterr().err


def test_invalid_json_names_file_and_line(tmp_path, capsys):
    (tmp_path / "x.jsonl").write_text("\n{not json\n")
    assert analyze.main([str(tmp_path / "x.jsonl"), "--output-dir", str(tmp_path / "out")]) == 1
    assert "x.jsonl:2: invalid JSON" in capsys.readouterr().err
