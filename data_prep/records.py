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

"""Reading source records with their location, and accounting for every record that is dropped.

Both data scripts promise that nothing disappears silently: a record is either written, or dropped
for a named reason that is counted (and, for malformed records in strict mode, stops the run with
an error naming file, line or index, and field). :class:`DropLog` is that ledger.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recipe.pasr.jsonl import read_jsonl, undecodable


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One input record and where it came from (``file.jsonl:12``, ``file.json[3]``, ``hub ... row 7``)."""

    where: str
    data: Mapping[str, Any]
    position: int  # 0-based ordinal among the records of its source
    problem: str | None = None  # set when the entry could not be read as an object (``data`` is then empty)


class RecordError(ValueError):
    """A malformed record: names the record's location and the offending field."""

    def __init__(self, where: str, field_name: str | None, message: str) -> None:
        self.where = where
        self.field_name = field_name
        self.reason = message
        at = f"{where}, field {field_name!r}" if field_name else where
        super().__init__(f"{at}: {message}")


def read_records(path: str | Path) -> Iterator[SourceRecord]:
    """Records of a local ``.jsonl``, ``.json`` (a list of objects) or ``.parquet`` file, in file order.

    Blank lines of a JSONL file are not records. A line or element that is not a JSON object is a
    :class:`RecordError` (never skipped here: the caller decides with its lenient flag).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _read_jsonl(path)
    elif suffix == ".json":
        yield from _read_json(path)
    elif suffix == ".parquet":
        yield from _read_parquet(path)
    else:
        raise ValueError(f"{path}: unsupported input format {suffix!r}; use .jsonl, .json or .parquet")


def _read_jsonl(path: Path) -> Iterator[SourceRecord]:
    for position, line in enumerate(read_jsonl(path)):
        where = f"{path.name}:{line.number}"
        if line.record is None:
            yield SourceRecord(where, {}, position, line.problem)
        else:
            yield SourceRecord(where, line.record, position)


def _read_json(path: Path) -> Iterator[SourceRecord]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise RecordError(
            f"{path.name}:{line}", None, f"not UTF-8 text ({undecodable(exc)} at column {column})"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path.name}:{exc.lineno}", None, f"not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise RecordError(path.name, None, f"expected a JSON list of records, found {type(data).__name__}")
    for position, item in enumerate(data):
        yield _as_record(f"{path.name}[{position}]", item, position)


def _as_record(where: str, data: Any, position: int) -> SourceRecord:
    if isinstance(data, dict):
        return SourceRecord(where, data, position)
    return SourceRecord(where, {}, position, f"not a JSON object ({type(data).__name__})")


def _read_parquet(path: Path) -> Iterator[SourceRecord]:
    import pyarrow.parquet as pq

    for position, row in enumerate(pq.read_table(path).to_pylist()):
        yield SourceRecord(f"{path.name} row {position}", row, position)


def dataset_records(rows: Iterable[Mapping[str, Any]], label: str) -> Iterator[SourceRecord]:
    """Rows of a loaded ``datasets.Dataset`` (or any iterable of mappings), located as ``label row i``."""
    for position, row in enumerate(rows):
        yield SourceRecord(f"{label} row {position}", row, position)


def require_str(record: SourceRecord, key: str, *, allow_empty: bool = False) -> str:
    """``record.data[key]`` as a string, or a :class:`RecordError` naming the location and field.

    Integers are accepted and converted (some sources store option numbers as ints); anything else
    (missing, null, a list, a float) is malformed.
    """
    if record.problem is not None:
        raise RecordError(record.where, None, record.problem)
    if key not in record.data:
        present = ", ".join(sorted(map(str, record.data))) or "none"
        raise RecordError(record.where, key, f"missing (fields present: {present})")
    value = record.data[key]
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise RecordError(record.where, key, f"expected a string, found {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise RecordError(record.where, key, "empty")
    return value


@dataclass
class DropLog:
    """Counts dropped records by reason; in strict mode a malformed record raises instead.

    ``drop`` is for cleaning decisions (duplicates, over-long prompts: expected, always counted);
    ``malformed`` is for records that break the input's contract: an error unless ``lenient``.
    """

    lenient: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    max_examples: int = 5

    def drop(self, reason: str, where: str) -> None:
        self.counts[reason] += 1
        bucket = self.examples.setdefault(reason, [])
        if len(bucket) < self.max_examples:
            bucket.append(where)

    def malformed(self, error: RecordError) -> None:
        if not self.lenient:
            raise error
        self.drop(f"malformed {error.field_name or 'record'}", str(error))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "by_reason": dict(self.counts), "examples": self.examples}
