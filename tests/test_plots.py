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

"""Figure layout: labels do not overlap, legends do not cover data, count axes count in whole numbers."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from recipe.pasr.tools import analyze
from recipe.pasr.tools import simulate as sim
from recipe.pasr.tools.eval_report import comparison_figure
from recipe.pasr.tools.evaluate import PAPER_TASKS


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def boxes(artists, renderer):
    return [a.get_window_extent(renderer) for a in artists if a.get_text()]


def legends_clear_of_axes(figure) -> None:
    renderer = figure.canvas.get_renderer()
    legends = [*figure.legends, *(ax.get_legend() for ax in figure.axes if ax.get_legend() is not None)]
    assert legends
    for legend in legends:
        extent = legend.get_window_extent(renderer)
        assert not any(extent.overlaps(ax.get_window_extent(renderer)) for ax in figure.axes)


def analysis_of_ten_tasks(tmp_path: Path) -> dict:
    records = [
        {"task": task, "index": i, "sample": 0, "mode": "pasr", "acc": 1.0, "question": "q",
         "response": "<think>a b <refine> fix </refine> c</think><answer>x</answer>" if i % 2 else
         "<think>a b c</think><answer>x</answer>"}
        for task in PAPER_TASKS for i in range(3)
    ]  # fmt: skip
    (tmp_path / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return analyze.analyze(analyze.read_inputs([tmp_path / "records.jsonl"]))


def test_analysis_figure_labels_and_count_axes(tmp_path):
    figure = analyze.figure(analysis_of_ten_tasks(tmp_path))
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    positions, flips, lengths, rates = figure.axes
    task_labels = boxes(rates.get_yticklabels(), renderer)
    assert len(task_labels) == len(PAPER_TASKS)
    assert not any(a.overlaps(b) for a, b in combinations(task_labels, 2))  # ten task names stay readable
    assert not any(a.overlaps(b) for a, b in combinations(boxes(flips.get_xticklabels(), renderer), 2))
    for axis in (positions, flips, lengths):
        assert axis.get_ylabel()
        ticks = [t for t in axis.get_yticks() if axis.get_ylim()[0] <= t <= axis.get_ylim()[1]]
        assert all(float(t).is_integer() for t in ticks), ticks  # counts: no 0.5 steps
    assert "refine rate" in rates.get_xlabel()


def test_comparison_legend_does_not_cover_bars():
    rows = {t: {f"{m}_{s}": 0.99 for m in ("acc", "tokens") for s in ("baseline", "candidate")} for t in PAPER_TASKS}
    figure = comparison_figure({"tasks": rows}, ("baseline run", "candidate run"))
    figure.canvas.draw()
    legends_clear_of_axes(figure)
    assert all(ax.get_ylabel() for ax in figure.axes)


def test_simulation_legend_does_not_cover_curves():
    population = sim.SimConfig().population
    curve = np.full((5, len(population)), 0.5)
    rows = [sim.Row("default", mode, {}, {}, curve, curve, curve) for mode in sim.MODES]
    figure = sim.figure(rows, population)
    figure.canvas.draw()
    legends_clear_of_axes(figure)
