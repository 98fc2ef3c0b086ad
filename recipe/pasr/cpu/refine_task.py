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

"""A text task where the right refine decision depends on the question: does PASR's reward teach *when*?

Each question is a small sum tagged with one of three kinds, named by a marker word at the end of the
prompt (``What is 3 + 4 ? beta``). The kinds differ in what a refine block does to the answer, as taught by
the warm start's synthetic responses:

* ``helps`` (marker ``alpha``): the question has a third term (``What is 3 + 4 + 2 ? alpha``) and the first
  attempt adds only the first two (``alpha 3 + 4 = 7``), so an answer given without refining is wrong by
  construction (the third term is at least 1); a refine block adds the third term (``<refine> wait there
  is more 7 + 2 = 9 </refine>``), right 90% of the time in the warm start's responses;
* ``neutral`` (``beta``): two terms; the first attempt is almost always right (95%) and a refine block
  repeats it, so refining changes nothing (the paper's needless refining on an easy question);
* ``hurts`` (``gamma``): two terms; the first attempt is almost always right (95%) and a refine block
  usually replaces it with a wrong one (right 20% after refining).

The first design made ``helps`` a two-term sum whose first attempt was usually wrong (10% right) and fixed
by the refine block. In seed 0's training rollouts the model learned to get that first attempt right (it
knows the 25 sums from the other kinds): first-attempt accuracy on ``helps`` rose from 0.22 (steps 1–10) to
0.47 (steps 21–30), so refining stopped being the way to a right answer there, and the reward rightly paid
less for it. A third term the first attempt does not add is a gap only a refine block closes, whatever the
model learns.

A response restates the kind before its first attempt (``<think> gamma 2 + 3 = 5 …``). Without it, a
two-layer model warm-started for 1,500 steps learned the kinds' average behaviour and ignored the marker at
the end of a long prompt (first-attempt accuracy 0.71 / 0.67 / 0.64 where 0.1 / 0.95 / 0.95 was designed);
copying the marker is an easy target that puts it next to the decision. The warm start's learning rate is
1e-3 (``WARM_START_LR``): at 3e-3 the model never learned to copy the marker.

Half the questions are ``helps``, a quarter each ``neutral`` and ``hurts`` (``KIND_CYCLE``), in the warm start
and in training. GRPO normalises each group's rewards, so a group whose refining responses score above the
others pushes the model's refine tendency up as hard as one where they score below pushes it down, however
large the difference. With a third of each kind, two kinds push down and one up, and a model that cannot
yet tell the kinds apart first learns never to refine: in the first design, the refine rate on ``helps``
fell from 0.40 to 0.06 (training rollouts, steps 1–10 → 21–30) while refining there still paid (in steps
1–17, responses that refined were right 100% of the time, those that did not 29%). With half ``helps``,
"refine" and "do not refine" start level, and what moves the rates is the marker.

Every synthetic response refines with probability 0.5, whatever the kind, so the warm-started model is
undecided everywhere. Answers are scored by the GSM8K rule (``#### N`` references): no judge.

Why this tests the claim: the refine decision is one token (``<refine>`` or ``</think>`` after the first
attempt), next to the restated marker, so a two-layer model can represent "refine on alpha, not on gamma";
what refining does to accuracy on ``neutral`` and ``hurts`` is a property of the model's own sampling,
which RL may change too (nothing in the reward reads the marker). What it cannot show: refining that needs
real reasoning or corrects a genuine mistake (``helps`` is a gap the warm start teaches the model to leave
and close), a model discovering *that* a refine can fix an answer, or transfer to question kinds not named
in the prompt. A control without the refinement bonus still sees the accuracy difference refining makes on
``helps`` and ``hurts``; only the bonus penalises refining that changes nothing (``neutral``), so the
comparison with the control is part of the result, not a formality.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from recipe.pasr.cpu.tiny_model import default_vocabulary


@dataclass(frozen=True)
class Kind:
    """A question kind: its marker word, whether a refine block adds a third term the first attempt leaves
    out, and what the first attempt and a refine block get right in the warm start's responses."""

    name: str
    marker: str
    adds_a_term: bool
    p_first_right: float  # of the first attempt as the answer to the whole question
    p_refined_right: float | None  # None: the refine block repeats the first attempt


KINDS = (
    Kind("helps", "alpha", adds_a_term=True, p_first_right=0.0, p_refined_right=0.9),
    Kind("neutral", "beta", adds_a_term=False, p_first_right=0.95, p_refined_right=None),
    Kind("hurts", "gamma", adds_a_term=False, p_first_right=0.95, p_refined_right=0.2),
)
KIND_BY_MARKER = {kind.marker: kind for kind in KINDS}
# Half the questions are helps: see the module docstring (GRPO pushes each kind with equal strength).
KIND_CYCLE = (KINDS[0], KINDS[1], KINDS[0], KINDS[2])
REFINE_PROBABILITY = 0.5  # in the warm start's responses, on every kind
WARM_START_LR = 1e-3
WARM_START_STEPS = 1500
# Terms 0..4 (a third term 1..4): sums a two-layer model learns in the warm start, so "right 95%" is the
# model's own skill.
MAX_OPERAND = 4
_MARKERS = re.compile(r"\?\s+(" + "|".join(KIND_BY_MARKER) + r")\b")


def vocabulary() -> list[str]:
    return [*default_vocabulary(), "there", "more", *KIND_BY_MARKER]


def question(terms: Sequence[int], kind: Kind) -> str:
    return f"What is {' + '.join(map(str, terms))} ? {kind.marker}"


def draw_terms(kind: Kind, rng: random.Random) -> list[int]:
    terms = [rng.randint(0, MAX_OPERAND), rng.randint(0, MAX_OPERAND)]
    return [*terms, rng.randint(1, MAX_OPERAND)] if kind.adds_a_term else terms


def kind_of(prompt_text: str) -> Kind:
    """The kind of a question, from its text or from a whole decoded prompt (verl's dumps hold the chat
    prompt decoded without special tokens: ``… user What is 1 + 4 ? beta assistant``): the marker word
    after the question's last ``?``."""
    found = _MARKERS.findall(prompt_text)
    if not found:
        raise ValueError(f"no kind marker ({', '.join(KIND_BY_MARKER)}) ends the question in {prompt_text[-120:]!r}")
    return KIND_BY_MARKER[found[-1]]


def _attempt(correct: int, right: bool, rng: random.Random) -> int:
    if right:
        return correct
    offset = rng.choice([-2, -1, 1, 2])
    return correct + offset if correct + offset >= 0 else correct - offset  # never the right sum, never < 0


def synthetic_example(rng: random.Random) -> tuple[str, str]:
    """A (question, response) pair of a random kind and behaviour, as the warm start trains on."""
    kind = rng.choice(KIND_CYCLE)
    terms = draw_terms(kind, rng)
    left, right = terms[:2]
    # helps: the first two terms only, wrong as the answer to the whole question
    first = left + right if kind.adds_a_term else _attempt(left + right, rng.random() < kind.p_first_right, rng)
    work = f"{kind.marker} {left} + {right} = {first}"  # restating the kind: see the module docstring
    final = first
    if rng.random() < REFINE_PROBABILITY:
        if kind.adds_a_term:
            final = _attempt(sum(terms), rng.random() < (kind.p_refined_right or 0.0), rng)
            work += f" <refine> wait there is more {first} + {terms[2]} = {final} </refine> so the answer is {final}"
        else:
            if kind.p_refined_right is not None:
                final = _attempt(left + right, rng.random() < kind.p_refined_right, rng)
            work += f" <refine> wait check again {left} + {right} = {final} </refine> so the answer is {final}"
    return question(terms, kind), f"<think> {work} </think> <answer> {final} </answer>"


def records(count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` (question, GSM8K-style reference) pairs, the kinds in ``KIND_CYCLE``'s shares (round robin)."""
    rng = random.Random(seed)
    pairs = []
    for index in range(count):
        kind = KIND_CYCLE[index % len(KIND_CYCLE)]
        terms = draw_terms(kind, rng)
        pairs.append((question(terms, kind), f"{' + '.join(map(str, terms))} = {sum(terms)} #### {sum(terms)}"))
    return pairs
