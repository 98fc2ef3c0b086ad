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

"""Data preparation: training and evaluation parquet, on local files shaped like the hub and paper records.

Tests marked ``shared`` read the paper's exact subsets from ``../shared/paper_eval_sets`` (or
``$PASR_PAPER_EVAL_SETS``) and skip where that directory is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from omegaconf import OmegaConf

from recipe.pasr.data_prep import prepare_eval, prepare_train
from recipe.pasr.data_prep.records import DropLog, RecordError, read_records
from recipe.pasr.scoring.rules import RULES, options_from_question
from recipe.pasr.tasks import PASR_SYSTEM_PROMPTS, TASKS, PromptStyle, pasr_messages, standard_messages
from tests.fakes.tiny_hf import build_tiny_tokenizer

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
PAPER_SETS = Path(os.environ.get("PASR_PAPER_EVAL_SETS") or REPO.parent / "shared" / "paper_eval_sets")
PAPER_COUNTS = {
    "mmlu": 100,
    "drop": 313,
    "xsum": 313,
    "gsm8k": 1319,
    "math": 500,
    "aime24": 30,
    "arc_challenge": 299,
    "gpqa": 792,
    "winogrande": 1267,
    "commonsenseqa": 1221,
}
needs_paper_sets = pytest.mark.skipif(
    not PAPER_SETS.is_dir(), reason=f"paper eval sets not found at {PAPER_SETS} (set PASR_PAPER_EVAL_SETS)"
)


@pytest.fixture(autouse=True)
def datasets_cache(tmp_path, monkeypatch):
    """Keep every datasets cache (ours and verl's) inside the test's temp dir."""
    cache = tmp_path / "hf_datasets"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(cache))
    return cache


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tok")
    build_tiny_tokenizer(directory)
    return directory


def rows_of(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def load_with_verl(files: list[Path], tokenizer_dir: Path, cache: Path, filter_overlong: bool = True):
    from transformers import AutoTokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    config = OmegaConf.create(
        {
            "cache_dir": str(cache / "verl"),
            "max_prompt_length": 4096,
            "filter_overlong_prompts": filter_overlong,
            "filter_overlong_prompts_workers": 1,
        }
    )
    return RLHFDataset([str(f) for f in files], AutoTokenizer.from_pretrained(tokenizer_dir), config)


def check_contract(row: dict, data_source: str) -> None:
    task = TASKS[data_source]
    question = row["extra_info"]["question"]
    assert row["data_source"] == data_source
    assert row["prompt"] == pasr_messages(question)
    assert row["ability"] == task.ability
    assert row["reward_model"]["style"] == ("rule" if task.rule else "model")
    assert row["extra_info"]["task_type"] == task.task_type.value
    assert row["extra_info"]["standard_prompt"] == standard_messages(question)


# --- evaluation data: paper-shaped fixtures ----------------------------------------------------------


@pytest.mark.parametrize("task", list(prepare_eval.SPECS))
def test_paper_fixture_every_record_becomes_a_row(task, tmp_path):
    spec = prepare_eval.SPECS[task]
    entry = prepare_eval.prepare_task(spec, tmp_path, input_dir=DATA / "paper_sets", cache_dir=None, lenient=False)
    rows = rows_of(tmp_path / f"{task}.parquet")
    assert (
        entry["records_in"]
        == entry["written"]
        == len(rows)
        == len(list(read_records(DATA / "paper_sets" / spec.paper_file)))
    )
    assert [r["extra_info"]["index"] for r in rows] == list(range(len(rows)))
    for row in rows:
        check_contract(row, task)


def test_paper_fixture_ground_truths(tmp_path):
    prepare_eval.main(["--output-dir", str(tmp_path), "--input-dir", str(DATA / "paper_sets")])
    gt = {
        task: [r["reward_model"]["ground_truth"] for r in rows_of(tmp_path / f"{task}.parquet")]
        for task in prepare_eval.SPECS
    }
    assert gt["gsm8k"][1].endswith("#### 18") and gt["gsm8k"][2].endswith("#### 12,000")
    assert gt["math"] == ["2", "\\frac{1}{2}"]
    assert gt["aime24"] == ["\\boxed{4}", "\\boxed{72}"]
    assert gt["mmlu"] == ["B", "A", "D"]
    assert gt["commonsenseqa"] == ["B", "A"] and gt["gpqa"] == ["C", "A"] and gt["winogrande"] == ["1", "2"]
    assert gt["drop"] == ["24", "the mayor"] and gt["xsum"][0] == "A new library will be built in the town centre."
    drop = rows_of(tmp_path / "drop.parquet")
    assert drop[0]["extra_info"]["ref_text"] == "24|24 points"
    # ARC's numbered options are relabelled with letters, question and answer together.
    arc = rows_of(tmp_path / "arc_challenge.parquet")
    assert gt["arc_challenge"] == ["B", "C", "B"]
    assert options_from_question(arc[1]["extra_info"]["question"])["C"] == "0 degrees"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["arc_challenge"]["options_relabelled"] == 1 and set(summary) == set(prepare_eval.SPECS)


def test_verl_dataset_loads_mixed_eval_files(tmp_path, tokenizer_dir, datasets_cache):
    """verl concatenates val files: DROP (ref_text set) and GSM8K (ref_text null) share one schema."""
    prepare_eval.main(
        ["--output-dir", str(tmp_path), "--input-dir", str(DATA / "paper_sets"), "--tasks", "drop", "gsm8k"]
    )
    dataset = load_with_verl([tmp_path / "drop.parquet", tmp_path / "gsm8k.parquet"], tokenizer_dir, datasets_cache)
    assert len(dataset) == 5
    for i in range(len(dataset)):
        item = dataset[i]
        assert item["raw_prompt"] == pasr_messages(item["extra_info"]["question"])
        assert item["index"] == item["extra_info"]["index"]
    assert dataset[0]["data_source"] == "drop" and dataset[2]["reward_model"]["style"] == "rule"


def test_malformed_eval_records_are_named_or_counted(tmp_path):
    bad = tmp_path / "in"
    bad.mkdir()
    lines = [
        {"question": "Q1\nA: x\nB: y", "answer": "A"},
        {"question": "Q2\nA: x\nB: y"},
        "not json",
        {"question": "Q3\nA: x\nB: y", "answer": "C"},
        {"question": ["a list"], "answer": "A"},
    ]
    (bad / "arc_challenge.jsonl").write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    )
    spec = prepare_eval.SPECS["arc_challenge"]
    with pytest.raises(RecordError, match=r"arc_challenge.jsonl:2, field 'answer': missing"):
        prepare_eval.prepare_task(spec, tmp_path / "out", input_dir=bad, cache_dir=None, lenient=False)
    entry = prepare_eval.prepare_task(spec, tmp_path / "out", input_dir=bad, cache_dir=None, lenient=True)
    assert (entry["records_in"], entry["written"], entry["dropped"]["total"]) == (5, 1, 4)
    reasons = entry["dropped"]["by_reason"]
    assert reasons == {"malformed answer": 2, "malformed record": 1, "malformed question": 1}
    assert any("not among the options" in e for e in entry["dropped"]["examples"]["malformed answer"])
    assert (
        prepare_eval.main(["--output-dir", str(tmp_path / "cli"), "--input-dir", str(bad), "--tasks", "arc_challenge"])
        == 2
    )


# --- evaluation data: hub-shaped fixtures ------------------------------------------------------------


def hub_rows(task: str, cache: Path):
    return datasets.load_dataset("json", data_files=str(DATA / "hub" / f"{task}.jsonl"), cache_dir=str(cache))["train"]


@pytest.mark.parametrize("task", list(prepare_eval.SPECS))
def test_hub_shaped_records_convert(task, datasets_cache):
    spec = prepare_eval.SPECS[task]
    raw = hub_rows(task, datasets_cache)
    conversion = prepare_eval.convert(spec, prepare_eval.hub_records(spec.hub, raw))
    assert conversion.records_in == len(raw) * spec.hub.repeats == len(conversion.rows)
    for row in conversion.rows:
        check_contract(row, task)
        question, truth = row["extra_info"]["question"], row["reward_model"]["ground_truth"]
        if TASKS[task].rule is not None:  # the reference scores itself as correct
            answer = truth.split("####")[-1] if task == "gsm8k" else truth
            assert RULES[TASKS[task].rule](answer, truth, question).acc == 1.0


def test_hub_ground_truths(datasets_cache):
    def converted(task):
        spec = prepare_eval.SPECS[task]
        return prepare_eval.convert(spec, prepare_eval.hub_records(spec.hub, hub_rows(task, datasets_cache))).rows

    gpqa = converted("gpqa")
    assert len(gpqa) == 8  # two questions, four seeded option orders each
    for row in gpqa:
        options = options_from_question(row["extra_info"]["question"].replace(") ", ": "))
        assert options[row["reward_model"]["ground_truth"]] in ("negative", "neutron")
    assert len({r["extra_info"]["question"] for r in gpqa}) > 2
    assert [r["reward_model"]["ground_truth"] for r in converted("mmlu")] == ["B", "A"]
    assert converted("aime24")[0]["reward_model"]["ground_truth"] == "\\boxed{72}"
    drop = converted("drop")
    assert drop[1]["reward_model"]["ground_truth"] == "Anna, Ben" and drop[1]["extra_info"]["ref_text"] is None
    assert drop[0]["extra_info"]["question"].endswith("\nHere is the question: How many points in total?")
    arc = converted("arc_challenge")
    assert [r["reward_model"]["ground_truth"] for r in arc] == ["B", "C"]
    assert converted("winogrande")[0]["extra_info"]["question"].endswith("\nOption1: Anna\nOption2: Beth")


def test_hub_cli_uses_the_loader(tmp_path, monkeypatch, datasets_cache):
    seen = []

    def fake_load_hub(source, cache_dir=None):
        seen.append(source.label)
        task = next(name for name, spec in prepare_eval.SPECS.items() if spec.hub == source)
        return hub_rows(task, datasets_cache)

    monkeypatch.setattr(prepare_eval, "load_hub", fake_load_hub)
    assert prepare_eval.main(["--output-dir", str(tmp_path), "--tasks", "gsm8k", "gpqa"]) == 0
    assert seen == ["openai/gsm8k[main/test]", "Idavidrein/gpqa[gpqa_diamond/train]"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["gpqa"]["source"] == "hub:Idavidrein/gpqa[gpqa_diamond/train] x4"
    assert summary["gpqa"]["written"] == 8


def test_malformed_hub_row_is_named(datasets_cache):
    spec = prepare_eval.SPECS["mmlu"]
    rows = [{"question": "q", "choices": ["a", "b"], "answer": 0}, {"question": "q", "answer": 1}]
    with pytest.raises(RecordError, match=r"cais/mmlu\[all/test\] row 1: hub record not in the expected shape"):
        prepare_eval.convert(spec, prepare_eval.hub_records(spec.hub, rows))


def test_eval_script_runs_from_the_clone(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "data_prep" / "prepare_eval.py"),
            "--output-dir",
            str(tmp_path),
            "--tasks",
            "mmlu",
            "--input-dir",
            str(DATA / "paper_sets"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "mmlu: 3 in → 3 rows" in result.stdout


# --- evaluation data: the paper's exact subsets ------------------------------------------------------


@pytest.mark.shared
@needs_paper_sets
def test_paper_sets_counts_and_ground_truths(tmp_path, tokenizer_dir, datasets_cache):
    assert prepare_eval.main(["--output-dir", str(tmp_path), "--input-dir", str(PAPER_SETS)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    rows = {task: rows_of(tmp_path / f"{task}.parquet") for task in PAPER_COUNTS}
    for task, count in PAPER_COUNTS.items():
        assert summary[task]["records_in"] == summary[task]["written"] == len(rows[task]) == count, task
        assert summary[task]["dropped"]["total"] == 0
    assert summary["arc_challenge"]["options_relabelled"] == 4
    first = {task: rows[task][0]["reward_model"]["ground_truth"] for task in PAPER_COUNTS}
    assert first["gsm8k"].endswith("#### 18") and first["aime24"] == "\\boxed{204}"
    assert first["mmlu"] == "A" and first["winogrande"] == "2" and first["commonsenseqa"] == "A"
    assert first["math"] == "\\left( 3, \\frac{\\pi}{2} \\right)" and first["arc_challenge"] == "D"
    assert first["drop"] == "ruins and vegetation and vineyards and market gardens"
    assert rows["drop"][0]["extra_info"]["ref_text"].startswith("ruins and vegetation")
    assert rows["gpqa"][0]["extra_info"]["question"].startswith("Answer the following multiple choice question.")
    for task, task_rows in rows.items():  # every verifiable reference scores itself as correct (sampled)
        rule = TASKS[task].rule
        for row in task_rows[::7]:
            check_contract(row, task)
            truth, question = row["reward_model"]["ground_truth"], row["extra_info"]["question"]
            if rule is not None:
                answer = truth.split("####")[-1] if task == "gsm8k" else truth
                assert RULES[rule](answer, truth, question).acc == 1.0, (task, row["extra_info"]["index"])
    dataset = load_with_verl(
        [tmp_path / f"{task}.parquet" for task in PAPER_COUNTS], tokenizer_dir, datasets_cache, filter_overlong=False
    )
    assert len(dataset) == sum(PAPER_COUNTS.values())
    assert dataset[0]["raw_prompt"] == pasr_messages(rows["mmlu"][0]["extra_info"]["question"])


# --- training data -----------------------------------------------------------------------------------


def train_args(tmp_path: Path, tokenizer_dir: Path | None, *extra: str) -> list[str]:
    args = ["--output-dir", str(tmp_path), "--input", str(DATA / "evol_instruct.jsonl")]
    args += ["--num-prompts", "4", "--val-size", "2", "--max-prompt-tokens", "300"]
    if tokenizer_dir is not None:
        args += ["--tokenizer", str(tokenizer_dir)]
    return args + list(extra)


def test_train_cleaning_selection_and_rows(tmp_path, tokenizer_dir):
    assert prepare_train.main(train_args(tmp_path, tokenizer_dir)) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["records_in"] == 12
    assert summary["dropped"]["by_reason"] == {
        "empty instruction": 1,
        "empty output": 1,
        "duplicate instruction": 2,
        "prompt over 300 tokens": 1,
    }
    assert summary["dropped"]["examples"]["duplicate instruction"] == ["evol_instruct.jsonl:5", "evol_instruct.jsonl:6"]
    assert (summary["clean_pool"], summary["train"], summary["val"], summary["not_selected"]) == (7, 4, 2, 1)
    train, val = rows_of(tmp_path / "train.parquet"), rows_of(tmp_path / "val.parquet")
    assert {r["extra_info"]["question"] for r in train}.isdisjoint(r["extra_info"]["question"] for r in val)
    for split_rows, name in ((train, "train"), (val, "val")):
        assert [r["extra_info"]["index"] for r in split_rows] == list(range(len(split_rows)))
        for row in split_rows:
            check_contract(row, "alpaca_evol_instruct")
            assert row["extra_info"]["split"] == name and row["reward_model"]["style"] == "model"
    outputs = {
        json.loads(line)["instruction"]: json.loads(line)["output"]
        for line in reversed((DATA / "evol_instruct.jsonl").read_text().splitlines())
    }
    assert all(r["reward_model"]["ground_truth"] == outputs[r["extra_info"]["question"]] for r in train)


def test_train_selection_is_deterministic_and_nested(tmp_path, tokenizer_dir):
    prepare_train.main(train_args(tmp_path / "a", tokenizer_dir))
    prepare_train.main(train_args(tmp_path / "b", tokenizer_dir))
    prepare_train.main(train_args(tmp_path / "c", tokenizer_dir, "--num-prompts", "3"))
    prepare_train.main(train_args(tmp_path / "d", tokenizer_dir, "--seed", "7"))

    def questions(run, split):
        return [r["extra_info"]["question"] for r in rows_of(tmp_path / run / f"{split}.parquet")]

    assert rows_of(tmp_path / "a" / "train.parquet") == rows_of(tmp_path / "b" / "train.parquet")
    assert questions("c", "val") == questions("a", "val")  # validation does not move with --num-prompts
    assert questions("c", "train") == questions("a", "train")[:3]  # a smaller set is a prefix
    assert questions("d", "train") + questions("d", "val") != questions("a", "train") + questions("a", "val")


def test_train_token_budget_matches_chat_template(tokenizer_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    questions = ["What is 2 + 2 ?", "word " * 50]
    expected = [
        len(tokenizer.apply_chat_template(pasr_messages(q), add_generation_prompt=True, return_dict=False))
        for q in questions
    ]
    assert prepare_train.prompt_lengths(questions, tokenizer, {}, PromptStyle.PASR) == expected


def test_train_paper_prompt_style(tmp_path, tokenizer_dir):
    """--pasr-prompt paper: the prompt +recipe=pasr_paper trains with, recorded in the summary."""
    assert prepare_train.main(train_args(tmp_path, tokenizer_dir, "--pasr-prompt", "paper")) == 0
    assert json.loads((tmp_path / "summary.json").read_text())["pasr_prompt"] == "paper"
    row = rows_of(tmp_path / "train.parquet")[0]
    assert row["prompt"] == pasr_messages(row["extra_info"]["question"], PromptStyle.PAPER)
    system = row["prompt"][0]["content"]
    assert "for its own sake" not in system and "for its own sake" in PASR_SYSTEM_PROMPTS[PromptStyle.PASR]
    assert system.replace(".", "") == PASR_SYSTEM_PROMPTS[PromptStyle.PASR].replace(
        "; do not refine for its own sake", ""
    ).replace(".", "")


def test_train_needs_tokenizer_unless_told(tmp_path, capsys):
    with pytest.raises(SystemExit, match="--tokenizer is required"):
        prepare_train.main(train_args(tmp_path, None))
    assert prepare_train.main(train_args(tmp_path, None, "--no-token-filter")) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["token_filter"] == "skipped (--no-token-filter)" and summary["clean_pool"] == 8
    assert "over" not in " ".join(summary["dropped"]["by_reason"])


def test_train_malformed_records(tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text(
        '{"instruction": "a", "output": "b"}\n{"instruction": 3.5, "output": "b"}\n[1]\n{"instruction": "c"}\n'
    )
    args = ["--output-dir", str(tmp_path / "out"), "--input", str(source), "--no-token-filter", "--val-size", "0"]
    with pytest.raises(RecordError, match=r"bad.jsonl:2, field 'instruction': expected a string, found float"):
        prepare_train.run(prepare_train.build_parser().parse_args(args))
    summary = prepare_train.run(prepare_train.build_parser().parse_args([*args, "--lenient"]))
    assert summary["records_in"] == 4 and summary["train"] == 1
    assert summary["dropped"]["by_reason"] == {"malformed instruction": 1, "malformed record": 1, "malformed output": 1}


def test_train_hub_loader_and_verl_dataset(tmp_path, monkeypatch, tokenizer_dir, datasets_cache):
    def fake_hub(cache_dir=None):
        rows = datasets.load_dataset(
            "json", data_files=str(DATA / "evol_instruct.jsonl"), cache_dir=str(datasets_cache)
        )
        return prepare_train.dataset_records(rows["train"], f"{prepare_train.HUB_ID}[train]")

    monkeypatch.setattr(prepare_train, "load_hub", fake_hub)
    args = train_args(tmp_path, tokenizer_dir)
    args.remove("--input")
    args.remove(str(DATA / "evol_instruct.jsonl"))
    assert prepare_train.main(args) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["source"] == f"hub:{prepare_train.HUB_ID}[train]" and summary["train"] == 4
    dataset = load_with_verl([tmp_path / "train.parquet"], tokenizer_dir, datasets_cache)
    assert len(dataset) == 4
    assert dataset[0]["raw_prompt"] == pasr_messages(dataset[0]["extra_info"]["question"])
    assert dataset[0]["data_source"] == "alpaca_evol_instruct"


def test_drop_log_strict_and_lenient():
    error = RecordError("f.jsonl:3", "answer", "empty")
    with pytest.raises(RecordError):
        DropLog().malformed(error)
    log = DropLog(lenient=True)
    log.malformed(error)
    log.drop("duplicate instruction", "f.jsonl:4")
    assert log.as_dict()["by_reason"] == {"malformed answer": 1, "duplicate instruction": 1} and log.total == 2


def test_chat_template_options_become_a_verl_override(tmp_path, tokenizer_dir):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    kwargs = '{"enable_thinking": true, "custom": {"name": "x y", "n": 2}}'
    assert prepare_train.main(train_args(tmp_path, tokenizer_dir, "--chat-template-kwargs", kwargs)) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["chat_template_kwargs"] == json.loads(kwargs)
    override = OverridesParser.create().parse_override(summary["verl_override"])
    assert override.key_or_group == "data.apply_chat_template_kwargs" and override.value() == json.loads(kwargs)


def test_a_template_that_closes_the_think_block_is_flagged(tmp_path, tokenizer_dir):
    """Qwen3's template pre-fills ``<think>\\n\\n</think>`` unless thinking is enabled."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    opener = "{{ '<|im_start|>assistant\n' }}"
    assert opener in tokenizer.chat_template
    tokenizer.chat_template = tokenizer.chat_template.replace(
        opener, opener + "{% if not enable_thinking %}{{ '<think>\n\n</think>\n\n' }}{% endif %}"
    )
    tokenizer.save_pretrained(tmp_path / "qwen3ish")
    prepare_train.main(train_args(tmp_path / "off", None, "--tokenizer", str(tmp_path / "qwen3ish")))
    assert "closes a think block" in json.loads((tmp_path / "off" / "summary.json").read_text())["warnings"][0]
    on = ["--tokenizer", str(tmp_path / "qwen3ish"), "--chat-template-kwargs", '{"enable_thinking": true}']
    prepare_train.main(train_args(tmp_path / "on", None, *on))
    assert json.loads((tmp_path / "on" / "summary.json").read_text())["warnings"] == []


# --- input formats, encodings, empty inputs and exit codes --------------------------------------------


def test_train_joins_the_alpaca_input_to_the_instruction(tmp_path):
    source = tmp_path / "alpaca.jsonl"
    rows = [
        {"instruction": "Summarise the text.", "input": "The cat sat on the mat.", "output": "A cat sat."},
        {"instruction": "Summarise the text.", "input": "Dogs bark.", "output": "Dogs bark."},  # not a duplicate
        {"instruction": "Name a colour.", "input": "", "output": "Red."},
        {"instruction": "Name a fruit.", "input": None, "output": "Apple."},
    ]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    args = ["--output-dir", str(tmp_path / "out"), "--input", str(source), "--no-token-filter"]
    assert prepare_train.main([*args, "--val-size", "0", "--num-prompts", "4"]) == 0
    questions = {r["extra_info"]["question"] for r in rows_of(tmp_path / "out" / "train.parquet")}
    assert questions == {
        "Summarise the text.\n\nThe cat sat on the mat.",
        "Summarise the text.\n\nDogs bark.",
        "Name a colour.",
        "Name a fruit.",
    }
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["inputs_joined"] == 2
    source.write_text(json.dumps({"instruction": "a", "input": ["x"], "output": "b"}) + "\n")
    with pytest.raises(RecordError, match=r"alpaca.jsonl:1, field 'input': expected a string, found list"):
        prepare_train.run(prepare_train.build_parser().parse_args([*args, "--val-size", "0"]))


def test_train_incomplete_results_exit_3(tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text('{"instruction": "a", "output": "b"}\n{"instruction": 3.5, "output": "b"}\n')
    args = ["--output-dir", str(tmp_path / "out"), "--input", str(source), "--no-token-filter", "--val-size", "0"]
    assert prepare_train.main([*args, "--lenient", "--num-prompts", "1"]) == 3  # a malformed record skipped
    assert (tmp_path / "out" / "train.parquet").is_file()
    source.write_text('{"instruction": "a", "output": "b"}\n')
    assert prepare_train.main([*args, "--num-prompts", "2"]) == 3  # fewer prompts than asked
    assert prepare_train.main([*args, "--num-prompts", "1"]) == 0


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_non_utf8_input_names_its_line(tmp_path, suffix):
    path = tmp_path / f"in{suffix}"
    good = json.dumps({"instruction": "a", "output": "b"}).encode()
    bad = b'{"instruction": "caf\xe9", "output": "b"}'
    path.write_bytes(good + b"\n" + bad + b"\n" if suffix == ".jsonl" else b"[" + good + b",\n" + bad + b"]")
    with pytest.raises(RecordError, match=rf"in{suffix}:2: not UTF-8 text \(byte 0xe9 at column 21\)"):
        for record in read_records(path):
            if record.problem:
                raise RecordError(record.where, None, record.problem)


def test_eval_json_errors_keep_their_position_and_empty_inputs_fail(tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "mmlu.json").write_text('[{"Question": "x",\n "Ground_truth": }]')
    (inputs / "gsm8k.jsonl").write_text("")
    base = ["--output-dir", str(tmp_path / "out"), "--input-dir", str(inputs), "--tasks"]
    assert prepare_eval.main([*base, "mmlu"]) == 2
    assert "mmlu.json:2: not valid JSON (Expecting value: line 2 column 18 (char 36))" in capsys.readouterr().err
    assert prepare_eval.main([*base, "gsm8k"]) == 2
    assert "gsm8k: the input holds no records" in capsys.readouterr().err
    assert not (tmp_path / "out" / "gsm8k.parquet").exists()


def test_eval_lenient_skips_exit_3(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "gsm8k.jsonl").write_text('{"question": "q", "answer": "x\\n#### 4"}\n{"question": "q"}\n')
    args = ["--output-dir", str(tmp_path / "out"), "--input-dir", str(inputs), "--tasks", "gsm8k"]
    assert prepare_eval.main([*args, "--lenient"]) == 3
    assert len(rows_of(tmp_path / "out" / "gsm8k.parquet")) == 1
