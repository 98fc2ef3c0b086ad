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

"""Every recipe enum renders as its value on every supported Python (3.10 included)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from recipe.pasr.enums import StrEnum
from recipe.pasr.response import EmptyRefine
from recipe.pasr.reward import BaselineSource
from recipe.pasr.scoring.sample import ScorerMode
from recipe.pasr.tasks import TaskType

ROOT = Path(__file__).resolve().parents[1]


def test_members_render_as_their_values_everywhere() -> None:
    enums = StrEnum.__subclasses__()
    assert {EmptyRefine, BaselineSource, ScorerMode, TaskType} <= set(enums) and len(enums) >= 13
    for enum in enums:
        for member in enum:
            assert isinstance(member, str)
            rendered = (str(member), f"{member}", format(member, ""), "%s" % member)  # noqa: UP031
            assert rendered == (member.value,) * 4, enum
            assert json.loads(json.dumps(member)) == member.value == member
            assert f"{member:>12}" == f"{member.value:>12}"


def test_no_enum_bypasses_the_shared_base() -> None:
    # enum.StrEnum is Python 3.11+; a plain (str, Enum) prints as 'Class.MEMBER'.
    sources = [*ROOT.glob("recipe/**/*.py"), *ROOT.glob("data_prep/*.py"), *ROOT.glob("benchmarks/*.py")]
    pattern = re.compile(r"from enum import .*\bStrEnum\b|\(str, Enum\)|enum\.StrEnum")
    offenders = [str(p.relative_to(ROOT)) for p in sources if p.name != "enums.py" and pattern.search(p.read_text())]
    assert sources and offenders == []
