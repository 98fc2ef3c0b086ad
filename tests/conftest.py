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

"""Longest files first, so ``pytest -n 2 --dist loadfile`` ends when the trainer's file ends.

The file that trains the whole recipe (``e2e``) takes most of the suite's time on one process; started
last, it would run alone at the end. xdist hands files out in collection order once its own reordering
(most tests first) is off, and gives a process more only when it has two tests or fewer left, so the
``e2e`` file goes first and the files that start Ray next; the other process takes everything else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

STARTS_TRAINER, STARTS_RAY, OTHER = 0, 1, 2


def file_rank(item: pytest.Item) -> int:
    if item.get_closest_marker("e2e") or item.get_closest_marker("e2e_paths"):
        return STARTS_TRAINER
    return STARTS_RAY if item.get_closest_marker("ray") else OTHER


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    ranks: dict[Path, int] = {}
    for item in items:
        ranks[item.path] = min(ranks.get(item.path, OTHER), file_rank(item))
    items.sort(key=lambda item: ranks[item.path])  # stable: each file stays whole and in order
