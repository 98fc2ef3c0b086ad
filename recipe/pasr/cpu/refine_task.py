"""A text task where the right refine decision depends on the question: does PASR's reward teach *when*?

Each question is a small addition tagged with one of three kinds, named by a marker word at the end of the
prompt (``What is 3 + 4 ? alpha``). The kinds differ only in what a refine block does to the answer, as
taught by the warm start's synthetic responses:

* ``helps`` (marker ``alpha``): the first attempt is usually wrong (right 10%), a refine block usually
  fixes it (the refined answer is right 90%);
* ``neutral`` (``beta``): the first attempt is almost always right (95%) and a refine block repeats it, so
  refining changes nothing (the paper's needless refining on an easy question);
* ``hurts`` (``gamma``): the first attempt is almost always right (95%) and a refine block usually replaces
  it with a wrong one (right 20% after refining).

A response restates the kind before its first attempt (``<think> alpha 2 + 3 = 4 <refine> …``). Without
it, a two-layer model warm-started for 1,500 steps learns the kinds' average behaviour and ignores the
marker at the end of a long prompt (measured: first-attempt accuracy 0.71 / 0.67 / 0.64 on helps / neutral /
hurts, designed as 0.1 / 0.95 / 0.95); with it, 0.24 / 0.89 / 0.97, and accuracy after a refine block
0.87 / 0.90 / 0.37. Copying the marker is an easy target that puts it next to the decision. The warm
start's learning rate is 1e-3 (``WARM_START_LR``): at 3e-3 the model never learns to copy the marker.

Every synthetic response refines with probability 0.5, whatever the kind, so the warm-started model is
undecided everywhere. Answers are scored by the GSM8K rule (``#### N`` references): no judge.

Why this tests the claim: the refine decision is one token (``<refine>`` or ``</think>`` after the first
attempt), preceded by the kind's marker in the prompt, so a two-layer model can represent "refine on alpha,
not on gamma"; and what refining does to accuracy is a property of the model's own sampling, which RL may
change too (nothing in the reward reads the marker). What it cannot show: refining that needs real
reasoning, a model discovering *that* a refine can fix an answer (the warm start teaches it), or transfer to
question kinds not named in the prompt. A control without the refinement bonus still sees the accuracy
difference refining makes on ``helps`` and ``hurts``; only the bonus penalises refining that changes
nothing (``neutral``), so the comparison with the control is part of the result, not a formality.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from recipe.pasr.cpu.tiny_model import addition_ground_truth, addition_question, default_vocabulary


@dataclass(frozen=True)
class Kind:
    """A question kind: its marker word and what its first attempt and a refine block get right."""

    name: str
    marker: str
    p_first_right: float
    p_refined_right: float | None  # None: the refine block repeats the first attempt


KINDS = (
    Kind("helps", "alpha", p_first_right=0.1, p_refined_right=0.9),
    Kind("neutral", "beta", p_first_right=0.95, p_refined_right=None),
    Kind("hurts", "gamma", p_first_right=0.95, p_refined_right=0.2),
)
KIND_BY_MARKER = {kind.marker: kind for kind in KINDS}
REFINE_PROBABILITY = 0.5  # in the warm start's responses, on every kind
WARM_START_LR = 1e-3
WARM_START_STEPS = 1500
# Operands 0..4: 25 sums a two-layer model learns in the warm start, so "right 95%" is the model's own skill.
MAX_OPERAND = 4
_MARKERS = re.compile(r"\?\s+(" + "|".join(KIND_BY_MARKER) + r")\b")


def vocabulary() -> list[str]:
    return [*default_vocabulary(), *KIND_BY_MARKER]


def question(left: int, right: int, kind: Kind) -> str:
    return f"{addition_question(left, right)} {kind.marker}"


def kind_of(prompt_text: str) -> Kind:
    """The kind of a question, from its text or from a whole decoded prompt (verl's dumps hold the chat
    prompt decoded without special tokens: ``… user What is 1 + 4 ? alpha assistant``): the marker word
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
    kind = rng.choice(KINDS)
    left, right = rng.randint(0, MAX_OPERAND), rng.randint(0, MAX_OPERAND)
    correct = left + right
    first = _attempt(correct, rng.random() < kind.p_first_right, rng)
    work = f"{kind.marker} {left} + {right} = {first}"  # restating the kind: see the module docstring
    final = first
    if rng.random() < REFINE_PROBABILITY:
        if kind.p_refined_right is not None:
            final = _attempt(correct, rng.random() < kind.p_refined_right, rng)
        work += f" <refine> wait check again {left} + {right} = {final} </refine> so the answer is {final}"
    return question(left, right, kind), f"<think> {work} </think> <answer> {final} </answer>"


def records(count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` (question, GSM8K-style reference) pairs, the kinds in equal shares (round robin)."""
    rng = random.Random(seed)
    pairs = []
    for index in range(count):
        left, right = rng.randint(0, MAX_OPERAND), rng.randint(0, MAX_OPERAND)
        pairs.append((question(left, right, KINDS[index % len(KINDS)]), addition_ground_truth(left, right)))
    return pairs
