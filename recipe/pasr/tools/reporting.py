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
