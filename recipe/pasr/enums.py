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

"""The recipe's string enums, alike on every supported Python (3.10 has no ``enum.StrEnum``).

Settings and record fields are spelled by these values (``pasr.reward.baseline=paired``,
``"refine_outcome": "win"``). A plain ``(str, Enum)`` member prints as ``BaselineMode.PAIRED``, and
``format()`` (f-strings) of one differs between 3.10 and 3.11+, so an f-string or ``str()`` could
silently write a different spelling into a record, a metric or a message depending on the interpreter.
Records still take ``.value`` explicitly; this keeps every other rendering equal to it too.
"""

from __future__ import annotations

from enum import Enum


class StrEnum(str, Enum):
    """``enum.StrEnum`` (Python 3.11+) for 3.10 too: ``str()``, ``format()`` and f-strings give the value."""

    __str__ = str.__str__
