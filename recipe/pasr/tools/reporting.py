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

"""What the tools' reports share: a mean that says "no values" instead of failing, and saving a figure.

matplotlib is imported only when a figure is saved, so the text reports never need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from statistics import fmean
from typing import Any


def mean_or_none(values: Sequence[float]) -> float | None:
    """The mean, or None for no values (a report shows it as a dash, never as 0)."""
    return fmean(values) if values else None


def save_figure(figure: Any, path: Path, **savefig: Any) -> Path:
    """Write ``figure`` to ``path`` and close it (pyplot keeps every open figure alive otherwise)."""
    import matplotlib.pyplot as plt

    figure.savefig(path, **savefig)
    plt.close(figure)
    return path
