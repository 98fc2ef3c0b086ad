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

"""The one reader of JSON Lines files: every non-blank line with its 1-based number and its object, or
with the reason it is not one.

Each caller (the scoring CLI, the evaluation records, the analysis inputs, data preparation) decides
what a bad line means: an error naming the file and line, or a counted skip. So this reader never
raises for a bad line, and never drops one silently; blank lines are not records. Lines are read as
bytes so that one that is not UTF-8 is reported with its number and column.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class JsonLine:
    """Line ``number`` of a file: its ``record`` (a JSON object), or the ``problem`` that stopped it being one."""

    number: int
    record: dict[str, Any] | None
    problem: str | None = None


def read_jsonl(path: Path) -> Iterator[JsonLine]:
    """The lines of the JSONL file at ``path``, in order."""
    with path.open("rb") as lines:
        yield from parse_jsonl(lines)


def parse_jsonl(lines: Iterable[bytes]) -> Iterator[JsonLine]:
    """The non-blank ``lines`` (numbered from 1, blank ones counted) as :class:`JsonLine` s."""
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield JsonLine(number, None, f"not UTF-8 text ({undecodable(exc)} at column {exc.start + 1})")
            continue
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield JsonLine(number, None, f"invalid JSON ({exc})")
            continue
        if isinstance(value, dict):
            yield JsonLine(number, value)
        else:
            yield JsonLine(number, None, f"expected a JSON object, got {type(value).__name__}")


def undecodable(exc: UnicodeDecodeError) -> str:
    """The bytes that are not UTF-8, as ``byte 0xe9``."""
    return "byte " + " ".join(f"0x{byte:02x}" for byte in exc.object[exc.start : exc.end])
