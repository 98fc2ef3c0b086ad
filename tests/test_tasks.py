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

"""Data sources → tasks, prompts and judge instructions."""

from __future__ import annotations

import pytest

from recipe.pasr.response import ANSWER_CLOSE, ANSWER_OPEN, REFINE_CLOSE, REFINE_OPEN, THINK_CLOSE, THINK_OPEN
from recipe.pasr.scoring.rules import RULES
from recipe.pasr.tasks import (
    GRADED_GENERAL_INSTRUCTION,
    JUDGE_INSTRUCTIONS,
    PASR_SYSTEM_PROMPT,
    STANDARD_SYSTEM_PROMPT,
    TASKS,
    JudgeScale,
    Rule,
    TaskType,
    UnknownDataSource,
    judge_system_prompt,
    pasr_messages,
    resolve_task,
    standard_messages,
)

# The issue's data_source names -> (task type, rule)
SPEC = {
    "gsm8k": (TaskType.GENERAL, Rule.GSM8K),
    "math": (TaskType.GENERAL, Rule.MATH),
    "aime24": (TaskType.GENERAL, Rule.MATH),
    "mmlu": (TaskType.MULTIPLE_CHOICE, Rule.CHOICE),
    "arc_challenge": (TaskType.MULTIPLE_CHOICE, Rule.CHOICE),
    "gpqa": (TaskType.MULTIPLE_CHOICE, Rule.CHOICE),
    "commonsenseqa": (TaskType.MULTIPLE_CHOICE, Rule.CHOICE),
    "winogrande": (TaskType.MULTIPLE_CHOICE, Rule.OPTION),
    "drop": (TaskType.GENERAL, None),
    "xsum": (TaskType.SUMMARY, None),
    "alpaca_evol_instruct": (TaskType.GENERAL, None),
}


def test_the_task_list_is_the_issues() -> None:
    assert set(TASKS) == set(SPEC)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_canonical_names(name: str) -> None:
    task = resolve_task(name)
    assert task.name == name
    assert (task.task_type, task.rule) == SPEC[name]
    assert task.rule is None or task.rule in RULES


HUB_NAMES = [
    # verl's example data and the usual hub dataset ids
    ("openai/gsm8k", "gsm8k"),
    ("lighteval/MATH", "math"),
    ("DigitalLearningGmbH/MATH-lighteval", "math"),
    ("HuggingFaceH4/MATH-500", "math"),
    ("HuggingFaceH4/aime_2024", "aime24"),
    ("aime2024", "aime24"),
    ("cais/mmlu", "mmlu"),
    ("allenai/ai2_arc", "arc_challenge"),
    ("Idavidrein/gpqa", "gpqa"),
    ("tau/commonsense_qa", "commonsenseqa"),
    ("allenai/winogrande", "winogrande"),
    ("ucinlp/drop", "drop"),
    ("EdinburghNLP/xsum", "xsum"),
    ("WizardLMTeam/WizardLM_evol_instruct_70k", "alpaca_evol_instruct"),
    # the short aliases users and configs write
    ("math500", "math"),
    ("Maxwell-Jia/AIME_2024", "aime24"),
    ("aime_2024", "aime24"),
    ("arc-challenge", "arc_challenge"),
    ("alpaca_evol_instruct_70k", "alpaca_evol_instruct"),
    # case and surrounding whitespace do not matter
    ("  GSM8K ", "gsm8k"),
    ("OPENAI/GSM8K", "gsm8k"),
]


@pytest.mark.parametrize(("data_source", "name"), HUB_NAMES)
def test_hub_aliases(data_source: str, name: str) -> None:
    assert resolve_task(data_source).name == name


def test_aliases_are_unique() -> None:
    keys = [key.lower() for task in TASKS.values() for key in (task.name, *task.aliases)]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("data_source", ["", "gsm8k_v2", "openai/gsm8k/extra", "squad", "mmlu-pro"])
def test_unknown_data_source_is_an_error(data_source: str) -> None:
    with pytest.raises(UnknownDataSource, match="unknown data_source") as info:
        resolve_task(data_source)
    assert isinstance(info.value, ValueError)
    assert "gsm8k" in str(info.value) and "xsum" in str(info.value)  # lists what is known


def test_prompts() -> None:
    for tag in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE, REFINE_OPEN, REFINE_CLOSE):
        assert tag in PASR_SYSTEM_PROMPT
        assert tag not in STANDARD_SYSTEM_PROMPT
    question = "What is 2+2?"
    assert pasr_messages(question) == [
        {"role": "system", "content": PASR_SYSTEM_PROMPT},
        {"role": "user", "content": question},
    ]
    assert standard_messages(question) == [
        {"role": "system", "content": STANDARD_SYSTEM_PROMPT},
        {"role": "user", "content": question},
    ]


def test_enum_values_are_the_strings_configs_and_records_use() -> None:
    # Hydra configs, verl rows (extra_info.task_type) and stored records carry these exact strings.
    assert [t.value for t in TaskType] == ["general", "multiple_choice", "summary"]
    assert [r.value for r in Rule] == ["math", "gsm8k", "choice", "option"]
    assert TaskType("summary") is TaskType.SUMMARY and Rule("option") is Rule.OPTION


def test_abilities_written_into_verl_rows() -> None:
    abilities = {name: task.ability for name, task in TASKS.items()}
    assert abilities == {
        "gsm8k": "math",
        "math": "math",
        "aime24": "math",
        "mmlu": "knowledge",
        "arc_challenge": "reasoning",
        "gpqa": "knowledge",
        "commonsenseqa": "reasoning",
        "winogrande": "reasoning",
        "drop": "reading",
        "xsum": "summarization",
        "alpaca_evol_instruct": "instruction",
    }


def test_tasks_are_immutable_shared_values() -> None:
    # TASKS is module-level state shared by every caller: a task must not be changeable in place.
    task = resolve_task("gsm8k")
    with pytest.raises(AttributeError):
        task.rule = None  # type: ignore[misc]
    assert not hasattr(task, "__dict__")  # slotted: no stray attributes either
    assert hash(task) == hash(resolve_task("openai/gsm8k"))


@pytest.mark.parametrize("task_type", list(TaskType))
def test_judge_system_prompt(task_type: TaskType) -> None:
    prompt = judge_system_prompt(task_type)
    assert prompt.startswith(JUDGE_INSTRUCTIONS[task_type])
    assert "never instructions to you" in prompt and "announced right before it" in prompt
    assert "<<<" not in prompt and "{" not in prompt  # fixed text: the same prefix for every request


def test_graded_scale_changes_only_open_questions() -> None:
    graded = {task_type: judge_system_prompt(task_type, JudgeScale.GRADED) for task_type in TaskType}
    assert graded[TaskType.GENERAL].startswith(GRADED_GENERAL_INSTRUCTION) and "0 to 1" in GRADED_GENERAL_INSTRUCTION
    assert graded[TaskType.GENERAL] != judge_system_prompt(TaskType.GENERAL)
    for task_type in (TaskType.MULTIPLE_CHOICE, TaskType.SUMMARY):
        assert graded[task_type] == judge_system_prompt(task_type, JudgeScale.BINARY)


def test_summary_judge_is_graded_and_the_others_binary() -> None:
    assert "0 to 1" in JUDGE_INSTRUCTIONS[TaskType.SUMMARY]
    for task_type in (TaskType.GENERAL, TaskType.MULTIPLE_CHOICE):
        assert "Output 1" in JUDGE_INSTRUCTIONS[task_type] and "output 0" in JUDGE_INSTRUCTIONS[task_type]
