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

"""verl parquet rows: the one place that builds and writes them (training, validation and evaluation).

Every file shares one explicit Arrow schema, so any mix of them (``data.val_files=[gsm8k, drop]``)
concatenates inside verl's ``RLHFDataset``; with inferred schemas a field that is null in one file
and a string in another would not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from recipe.pasr.tasks import PromptStyle, pasr_messages, resolve_task, standard_messages

_MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))

SCHEMA = pa.schema(
    [
        ("data_source", pa.string()),
        ("prompt", _MESSAGES),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        (
            "extra_info",
            pa.struct(
                [
                    ("split", pa.string()),
                    ("index", pa.int64()),
                    ("question", pa.string()),
                    ("task_type", pa.string()),
                    ("standard_prompt", _MESSAGES),
                    ("ref_text", pa.string()),  # DROP's alternative references ("a|b"); null elsewhere
                    ("source", pa.string()),  # provenance: file and line, or hub id and row
                ]
            ),
        ),
    ]
)


def make_row(
    data_source: str,
    question: str,
    ground_truth: str,
    *,
    split: str,
    index: int,
    source: str,
    ref_text: str | None = None,
    prompt_style: PromptStyle = PromptStyle.PASR,
) -> dict[str, Any]:
    """One row of the data contract read by the verl integration and by ``recipe.pasr.tools.evaluate``."""
    task = resolve_task(data_source)
    return {
        "data_source": task.name,
        "prompt": pasr_messages(question, prompt_style),
        "ability": task.ability,
        "reward_model": {"style": "rule" if task.rule is not None else "model", "ground_truth": ground_truth},
        "extra_info": {
            "split": split,
            "index": index,
            "question": question,
            "task_type": task.task_type.value,
            "standard_prompt": standard_messages(question),
            "ref_text": ref_text,
            "source": source,
        },
    }


def write_parquet(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write rows atomically (a temp file renamed into place: a crash never leaves half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), tmp)
    os.replace(tmp, path)
    return path
