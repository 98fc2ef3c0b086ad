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

"""Rule scorers, table-driven on records shaped like ``paper_eval_sets/``, plus the shared-data check."""

from __future__ import annotations

import json
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recipe.pasr.scoring import rules
from recipe.pasr.scoring.rules import (
    LETTER_LABELS,
    NUMBER_LABELS,
    RULES,
    RuleResult,
    choice_reference,
    extract_choice,
    extract_option,
    gsm8k_reference,
    last_boxed,
    options_from_question,
    score_choice,
    score_gsm8k,
    score_math,
    score_option,
)
from recipe.pasr.tasks import Rule, resolve_task

# --- records shaped like the paper's eval sets ----------------------------------------------------

GSM8K = {
    "question": "Janet's ducks lay 16 eggs per day. ... How much in dollars does she make every day?",
    "answer": "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18.\n#### 18",
}
GSM8K_BIG = {"question": "How much?", "answer": "So he made 1,450,000.\n#### 1,450,000"}
GSM8K_NEG = {"question": "How far below?", "answer": "It is 10 below.\n#### -10"}
MATH_POLAR = {
    "question": "Convert the point $(0,3)$ in rectangular coordinates to polar coordinates.",
    "answer": "\\left( 3, \\frac{\\pi}{2} \\right)",
}
MATH_DOLLARS = {"question": "How much, in dollars?", "answer": "\\$32,\\!348"}
MATH_SET = {"question": "Find all solutions.", "answer": "5, 7"}
AIME = {"problem": "Find the number of minutes the walk takes her.", "solution": "\\boxed{204}"}
MMLU = {
    "Question": "In an oligopoly market, firms\nA. cannot earn economic profits\nB. are interdependent\n"
    "C. are not subject to antitrust legislation\nD. are large in number",
    "Ground_truth": "B",
}
ARC = {"question": "What will most likely result?\nA: fog\nB: rain\nC: drought\nD: tornado", "answer": "C"}
ARC_NUMBERED = {
    "question": "A substance in the solid phase (state) of matter has\n1: a definite shape and a definite volume\n"
    "2: a definite shape, but no definite volume\n3: no definite shape, but a definite volume\n"
    "4: no definite shape and no definite volume",
    "answer": "1",
}
CSQA = {
    "question": "Where would you find magazines along side many other printed works?\nA: doctor\nB: bookstore\n"
    "C: market\nD: train station\nE: mortuary",
    "answer": "E",
}
GPQA = {
    "question": "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD.\n\nWhich energy "
    "difference can be resolved?\n\n\nA) 10^-9 eV\nB) 10^-11 eV\nC) 10^-4 eV\nD) 10^-8 eV\n",
    "answer": "C",
}
WINOGRANDE = {
    "question": "Sarah was a much better surgeon than Maria so _ always got the easier cases.\nOption1: Sarah\n"
    "Option2: Maria",
    "answer": "2",
}


def _case(record_id: str, answer: str, acc: float, extracted: str | None) -> tuple[str, str, float, str | None]:
    return record_id, answer, acc, extracted


# --- GSM8K ----------------------------------------------------------------------------------------

GSM8K_RECORDS = {"gsm8k": GSM8K, "big": GSM8K_BIG, "neg": GSM8K_NEG, "dot": {"question": "?", "answer": "#### 18."}}
GSM8K_CASES = [
    _case("gsm8k", "18", 1.0, "18"),
    _case("gsm8k", "\\boxed{18}", 1.0, "18"),
    _case("gsm8k", "She makes $18 a day.", 1.0, "18"),
    _case("gsm8k", "$18.00", 1.0, "18.00"),
    _case("gsm8k", "9 eggs at $2 is 18.", 1.0, "18"),
    _case("gsm8k", "\\boxed{18} (from 9 eggs)", 1.0, "18"),  # a boxed number wins over later numbers
    _case("gsm8k", "17", 0.0, "17"),
    _case("gsm8k", "18 dollars, 2 each", 0.0, "2"),  # the last number counts
    _case("gsm8k", "eighteen", 0.0, None),
    _case("gsm8k", "", 0.0, None),
    _case("gsm8k", "\\boxed{eighteen}", 0.0, None),
    _case("gsm8k", "1,2,3,18", 1.0, "18"),  # a list, not the number 12318
    _case("gsm8k", "1,8", 0.0, "8"),
    _case("big", "1,450,000", 1.0, "1450000"),
    _case("big", "$1450000", 1.0, "1450000"),
    _case("big", "\\boxed{1{,}450{,}000}", 1.0, "1450000"),  # LaTeX thousands separators
    _case("big", "1\\,450\\,000", 1.0, "1450000"),
    _case("big", "1,450", 0.0, "1450"),
    _case("neg", "-10", 1.0, "-10"),
    _case("neg", "\u221210", 1.0, "-10"),  # typographic minus
    _case("neg", "10", 0.0, "10"),
    # thousands separators, units, exact integers
    _case("big", "1,\\!450,\\!000", 1.0, "1450000"),  # MATH-style \! after the comma
    _case("big", "\\$1,\\!450,\\!000", 1.0, "1450000"),
    _case("big", "1{,}450{,}000 people", 1.0, "1450000"),
    _case("big", "1\u202f450\u202f000", 1.0, "1450000"),  # narrow no-break space
    _case("big", "1\u00a0450\u00a0000", 1.0, "1450000"),  # no-break space
    _case("big", "It costs $1,450,000.00 in total.", 1.0, "1450000.00"),
    _case("big", "1,450,001", 0.0, "1450001"),  # integers compare exactly, no relative tolerance
    _case("big", "1450000.5", 0.0, "1450000.5"),
    _case("big", "1\\,4500", 0.0, "4500"),  # not a thousands group: two numbers
    _case("gsm8k", "17.999999", 0.0, "17.999999"),
    _case("gsm8k", "18.000", 1.0, "18.000"),
    _case("gsm8k", "18 kg", 1.0, "18"),
    _case("gsm8k", "18kg", 1.0, "18"),
    _case("gsm8k", "18%", 1.0, "18"),
    _case("gsm8k", "The area is 18 m^2.", 1.0, "18"),  # an exponent belongs to the unit
    _case("gsm8k", "18 cm^{2}", 1.0, "18"),
    _case("gsm8k", "18 m^-2", 1.0, "18"),
    _case("gsm8k", "\\boxed{18 \\text{ dollars}}", 1.0, "18"),
    _case("gsm8k", "$.5", 0.0, ".5"),
    _case("neg", "-$10", 1.0, "-10"),
    _case("dot", "18", 1.0, "18"),  # a reference ending its sentence
]


@pytest.mark.parametrize(("record", "answer", "acc", "extracted"), GSM8K_CASES)
def test_gsm8k(record: str, answer: str, acc: float, extracted: str | None) -> None:
    rec = GSM8K_RECORDS[record]
    result = score_gsm8k(answer, rec["answer"], rec["question"])
    assert (result.acc, result.extracted) == (acc, extracted)


@pytest.mark.parametrize(
    ("ground_truth", "reference"), [("steps\n#### 18", "18"), ("#### 1,450,000 ", "1,450,000"), ("42", "42")]
)
def test_gsm8k_reference(ground_truth: str, reference: str) -> None:
    assert gsm8k_reference(ground_truth) == reference


@pytest.mark.parametrize("ground_truth", ["#### eighteen", "#### 18..", ""])
def test_gsm8k_reference_without_a_number_is_an_error(ground_truth: str) -> None:
    with pytest.raises(ValueError, match="no final number"):
        score_gsm8k("18", ground_truth)


# Any integer, written with any thousands separator, inside any phrasing, extracts to itself.
SEPARATORS = [",", "{,}", "\\,", ",\\!", "\u2009", "\u202f", "\u00a0"]
NUMBER_PHRASINGS = [
    "{}",
    "The answer is {}.",
    "\\boxed{{{}}}",
    "So she pays ${} in total.",
    "{} dollars",
    "$\\boxed{{{}}}$ km",
    "3 rows of 6 make {} m^2.",
    "\\textbf{{{}}} eggs",
]


@given(
    st.integers(-(10**12), 10**12),
    st.sampled_from(SEPARATORS),
    st.sampled_from(NUMBER_PHRASINGS),
    st.booleans(),
)
def test_an_integer_written_with_separators_extracts_to_itself(
    value: int, separator: str, phrasing: str, separated_reference: bool
) -> None:
    written = f"{value:,}".replace(",", separator)
    reference = f"#### {value:,}" if separated_reference else f"#### {value}"
    result = score_gsm8k(phrasing.format(written), reference)
    assert (result.acc, result.extracted) == (1.0, str(value))


@given(st.integers(-(10**15), 10**15), st.sampled_from([-1, 1]), st.sampled_from(SEPARATORS))
def test_integers_differing_by_one_never_match(value: int, step: int, separator: str) -> None:
    written = f"{value + step:,}".replace(",", separator)
    assert score_gsm8k(f"The answer is {written}.", f"#### {value}").acc == 0.0


# --- MATH / AIME (math-verify) --------------------------------------------------------------------

MATH_RECORDS = {"polar": MATH_POLAR["answer"], "dollars": MATH_DOLLARS["answer"], "set": MATH_SET["answer"]}
MATH_RECORDS |= {
    "aime": AIME["solution"],
    "half": "\\frac{1}{2}",
    "interval": "[1,2)",
    "five": "5",
    "ab": "\\frac{a}{b}",
}
MATH_CASES = [
    _case("polar", "\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", 1.0, None),
    _case("polar", "(3, \\frac{\\pi}{2})", 1.0, None),  # bare LaTeX
    _case("polar", "$(3, \\pi/2)$", 1.0, None),
    _case("polar", "\\boxed{(3, \\pi)}", 0.0, None),
    _case("dollars", "\\boxed{\\$32,\\!348}", 1.0, None),  # escaped dollar in the reference
    _case("dollars", "32348", 1.0, None),
    _case("dollars", "\\$32,348", 1.0, None),
    _case("dollars", "32347", 0.0, None),
    _case("set", "5, 7", 1.0, None),  # bare lists are sets, as in the reference
    _case("set", "7, 5", 1.0, None),
    _case("set", "\\boxed{5, 7}", 1.0, None),
    _case("set", "7", 0.0, None),
    _case("aime", "\\boxed{204}", 1.0, "204"),
    _case("aime", "204", 1.0, "204"),
    _case("aime", "The walk takes 204 minutes.", 1.0, None),
    _case("aime", "\\boxed{203}", 0.0, "203"),
    _case("half", "0.5", 1.0, None),
    _case("half", "1/2", 1.0, None),
    _case("half", "It equals 0.5", 1.0, None),  # prose parsed as is, not as a product of symbols
    _case("half", "\\frac{2}{4}", 1.0, None),
    _case("half", "\\frac{1}{3}", 0.0, None),
    _case("half", "It is $\\frac12$", 1.0, None),  # prose around delimited math: parsed as written
    _case("ab", "\\[\\frac{a}{b}\\]", 1.0, None),  # display math is a delimiter too
    _case("interval", "[1,2)", 1.0, None),
    _case("interval", "(1,2]", 0.0, None),
    _case("five", "x = 5", 1.0, None),
    _case("five", "The answer is $5$.", 1.0, None),
    _case("five", "\\boxed{6}", 0.0, "6"),
    _case("five", "", 0.0, None),
    _case("five", "\\boxed{}", 0.0, None),
]


@pytest.mark.parametrize(("record", "answer", "acc", "extracted"), MATH_CASES)
def test_math(record: str, answer: str, acc: float, extracted: str | None) -> None:
    result = score_math(answer, MATH_RECORDS[record])
    assert result.acc == acc
    if extracted is not None:
        assert result.extracted == extracted
    if acc == 1.0:
        assert result.extracted


def test_math_unparseable_reference_is_an_error() -> None:
    with pytest.raises(ValueError, match="cannot be parsed"):
        score_math("5", "")


def test_math_verify_runs_with_a_timeout_in_the_main_thread() -> None:
    assert rules._timeout() == rules.MATH_TIMEOUT_S > 0


def test_math_scores_in_a_worker_thread() -> None:
    # math-verify's timeout uses SIGALRM, main thread only; reward workers score in threads.
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(score_math, "\\boxed{\\frac{\\pi}{2}}", "\\frac{\\pi}{2}").result()
        name = pool.submit(lambda: threading.current_thread().name).result()
    assert result.acc == 1.0
    assert name != threading.main_thread().name


# --- multiple choice ------------------------------------------------------------------------------

BANK = {
    "question": "A revolving door is convenient for two direction travel, but it also serves as a security measure "
    "at a what?\nA: bank\nB: library\nC: department store\nD: mall\nE: new york",
    "answer": "A",
}
TWINS = {"question": "Where?\nA: mall\nB: mall\nC: department store\nD: department", "answer": "C"}
CHOICE_RECORDS = {
    "mmlu": (MMLU["Question"], MMLU["Ground_truth"]),
    "arc": (ARC["question"], ARC["answer"]),
    "arc_numbered": (ARC_NUMBERED["question"], ARC_NUMBERED["answer"]),
    "csqa": (CSQA["question"], CSQA["answer"]),
    "gpqa": (GPQA["question"], GPQA["answer"]),
    "bank": (BANK["question"], BANK["answer"]),
    "twins": (TWINS["question"], TWINS["answer"]),
}
CHOICE_CASES = [
    _case("mmlu", "B", 1.0, "B"),
    _case("mmlu", "(B)", 1.0, "B"),
    _case("mmlu", "B.", 1.0, "B"),
    _case("mmlu", "B. are interdependent", 1.0, "B"),
    _case("mmlu", "are interdependent", 1.0, "B"),  # the option's text alone
    _case("mmlu", "Answer: B", 1.0, "B"),
    _case("mmlu", "The answer is (B).", 1.0, "B"),
    _case("mmlu", "Answer: A", 0.0, "A"),
    _case("mmlu", "A or B", 0.0, None),
    _case("mmlu", "b", 1.0, "B"),  # a lone label in any case
    _case("mmlu", "The answer is a guess", 0.0, None),  # "a" is not option A
    _case("mmlu", "I cannot answer a question like this", 0.0, None),
    _case("arc", "C", 1.0, "C"),
    _case("arc", "C: drought", 1.0, "C"),
    _case("arc", "drought", 1.0, "C"),
    _case("arc", "\\boxed{C}", 1.0, "C"),
    _case("arc", "\\boxed{\\text{C}}", 1.0, "C"),
    _case("arc", "**C**", 1.0, "C"),
    _case("arc", "Answer: **C**", 1.0, "C"),
    _case("arc", "C\nA long stay of high pressure means no rain.", 1.0, "C"),
    _case("arc", "The answer is C. Option B (rain) is wrong.", 1.0, "C"),  # "answer" beats "option"
    _case("arc", "Final answer: option C", 1.0, "C"),
    _case("arc", "Option A and option B are both wrong", 0.0, None),
    _case("arc", "The answer is C, not B", 1.0, "C"),
    _case("arc", "rain", 0.0, "B"),
    _case("arc_numbered", "1", 1.0, "1"),
    _case("arc_numbered", "1: a definite shape and a definite volume", 1.0, "1"),
    _case("arc_numbered", "Option 1", 1.0, "1"),
    _case("arc_numbered", "a definite shape and a definite volume", 1.0, "1"),
    _case("arc_numbered", "2", 0.0, "2"),
    _case("arc_numbered", "1.5", 0.0, None),
    _case("arc_numbered", "A", 0.0, None),  # a letter is no label of a numbered question
    _case("csqa", "E", 1.0, "E"),
    _case("csqa", "E: mortuary", 1.0, "E"),
    _case("csqa", "bookstore", 0.0, "B"),
    _case("gpqa", "Answer: C", 1.0, "C"),
    _case("gpqa", "Answer: $C$", 1.0, "C"),
    _case("gpqa", "C) 10^-4 eV", 1.0, "C"),
    _case("gpqa", "10^-4 eV", 1.0, "C"),
    _case("gpqa", "Answer: \\boxed{C}", 1.0, "C"),
    _case("gpqa", "Answer: D", 0.0, "D"),
    # sentences, lower case, parentheses, emphasis (issue 11)
    _case("mmlu", "I choose B because firms react to each other.", 1.0, "B"),
    _case("mmlu", "I would pick option B.", 1.0, "B"),
    _case("mmlu", "I'd go with (B).", 1.0, "B"),
    _case("mmlu", "B, since A fails for an oligopoly", 1.0, "B"),
    _case("mmlu", "B; A fails for an oligopoly", 1.0, "B"),
    _case("mmlu", "B - the firms watch each other", 1.0, "B"),
    _case("mmlu", "B because firms react to each other", 1.0, "B"),
    _case("mmlu", "B is correct: firms react to each other", 1.0, "B"),
    _case("mmlu", "A, B and C are wrong", 0.0, None),  # a list of labels opens no answer
    _case("mmlu", "A or B", 0.0, None),
    _case("mmlu", "(b)", 1.0, "B"),
    _case("mmlu", "b.", 1.0, "B"),
    _case("mmlu", "Answer: b", 1.0, "B"),
    _case("mmlu", "The answer is b.", 1.0, "B"),
    _case("mmlu", "So the final answer is: b", 1.0, "B"),
    _case("mmlu", "a", 0.0, "A"),
    _case("mmlu", "I choose a because", 0.0, None),  # a lower-case "a" inside a sentence is an article
    _case("mmlu", "**B**", 1.0, "B"),
    _case("mmlu", "*B*", 1.0, "B"),
    _case("mmlu", "__B__", 1.0, "B"),
    _case("mmlu", "Firms are interdependent, so **B**.", 1.0, "B"),
    _case("mmlu", "Firms are interdependent (B).", 1.0, "B"),
    _case("mmlu", "[B]", 1.0, "B"),
    _case("mmlu", "(A) fails and (B) holds; (B)", 0.0, "A"),  # a label opening the answer wins
    _case("mmlu", "It is not (A), it is (B)", 0.0, None),  # two marked labels: ambiguous
    _case("mmlu", "The answer is are interdependent.", 1.0, "B"),  # the option's text after "answer is"
    _case("mmlu", "**are interdependent**", 1.0, "B"),
    _case("gpqa", "\u2026 so 10^-4 eV (C).", 1.0, "C"),
    _case("gpqa", "The difference must exceed the width, so 10^-4 eV (C).", 1.0, "C"),
    _case("gpqa", "The answer is 10^-4 eV.", 1.0, "C"),
    _case("csqa", "The answer is bookstore.", 0.0, "B"),
    _case("bank", "The answer is bank.", 1.0, "A"),
    _case("bank", "bank", 1.0, "A"),
    _case("bank", "A bank.", 1.0, "A"),  # "A" is the article here: the option's text decides
    _case("bank", "a library", 0.0, "B"),
    _case("bank", "The answer is a bank, where security matters.", 1.0, "A"),
    _case("bank", "The answer is department store", 0.0, "C"),  # the longest option text opening the rest
    _case("bank", "The answer is new york.", 0.0, "E"),
    _case("bank", "The answer is a vault.", 0.0, None),
    _case("bank", "Security matters at a bank.", 0.0, None),  # no "answer is": prose is not searched
    _case("bank", "I would choose the library, but no: the answer is a bank.", 1.0, "A"),  # the last statement
    _case("bank", "The answer is bank. Then again, I choose mall.", 0.0, "D"),
    _case("twins", "The answer is mall.", 0.0, None),  # two options share the text
    _case("twins", "The answer is department store.", 1.0, "C"),
    _case("arc_numbered", "I choose 1 because it keeps its shape.", 1.0, "1"),
    _case("arc_numbered", "1, since solids keep their shape", 1.0, "1"),
    _case("arc_numbered", "The answer is a definite shape and a definite volume.", 1.0, "1"),
]


@pytest.mark.parametrize(("record", "answer", "acc", "extracted"), CHOICE_CASES)
def test_choice(record: str, answer: str, acc: float, extracted: str | None) -> None:
    question, reference = CHOICE_RECORDS[record]
    result = score_choice(answer, reference, question)
    assert (result.acc, result.extracted) == (acc, extracted)


@pytest.mark.parametrize(
    ("ground_truth", "label"),
    [("B", "B"), (" E ", "E"), ("(C)", "C"), ("Answer: D", "D"), ("2", "2"), ("4", "4"), ("b", "B")],
)
def test_choice_reference(ground_truth: str, label: str) -> None:
    assert choice_reference(ground_truth) == label


@pytest.mark.parametrize("ground_truth", ["F", "", "f", "bookstore", "7", "A or B", "X"])
def test_choice_reference_errors(ground_truth: str) -> None:
    with pytest.raises(ValueError, match="not a letter"):
        score_choice("A", ground_truth)


def test_options_from_question() -> None:
    assert options_from_question(GPQA["question"]) == {
        "A": "10^-9 eV",
        "B": "10^-11 eV",
        "C": "10^-4 eV",
        "D": "10^-8 eV",
    }
    assert options_from_question(MMLU["Question"])["D"] == "are large in number"
    assert (
        options_from_question(ARC_NUMBERED["question"], labels="12345")["4"]
        == "no definite shape and no definite volume"
    )
    assert options_from_question("A spin-half particle is in a superposition.") == {}


def test_extract_choice_default_labels_are_letters() -> None:
    assert extract_choice("Answer: B") == "B"
    assert extract_choice("2") is None


# Every label, in every phrasing of a chosen option, extracts to itself.
LABEL_PHRASINGS = [
    "{L}",
    "{l}",
    "({l})",
    "{L}.",
    "**{L}**",
    "Answer: {l}",
    "Answer: $\\boxed{{{L}}}$",
    "The answer is {L}, not the others.",
    "The correct answer is **({L})**.",
    "I choose {L} because it fits.",
    "I would go with option {L}.",
    "{L}, since the others fail.",
    "{L} because the others fail.",
    "{L}: the text of the option",
    "It has to be that one ({L}).",
    "After checking all of them, *{L}*",
    "My choice: {L}",
]


@given(st.sampled_from(LETTER_LABELS), st.sampled_from(LABEL_PHRASINGS))
def test_every_label_in_every_phrasing_extracts_to_itself(label: str, phrasing: str) -> None:
    assert extract_choice(phrasing.format(L=label, l=label.lower())) == label


@given(st.sampled_from(NUMBER_LABELS[:4]), st.sampled_from(LABEL_PHRASINGS))
def test_numbered_labels_too(label: str, phrasing: str) -> None:
    assert extract_choice(phrasing.format(L=label, l=label), labels=NUMBER_LABELS) == label


WORDS = ["bank", "library", "store", "department", "mall", "river", "city", "blue", "red", "energy", "shape", "ten"]
OPTION_TEXTS = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)


@given(
    st.lists(OPTION_TEXTS, min_size=2, max_size=5, unique=True),
    st.data(),
    st.sampled_from(["{}", "The answer is {}.", "So the answer is the {}, as it fits.", "I choose {}.", "**{}**"]),
)
def test_an_options_text_selects_it(texts: list[str], data: st.DataObject, phrasing: str) -> None:
    question = "Which?\n" + "\n".join(f"{label}: {text}" for label, text in zip(LETTER_LABELS, texts, strict=False))
    index = data.draw(st.integers(0, len(texts) - 1))
    assert extract_choice(phrasing.format(texts[index]), question) == LETTER_LABELS[index]


# --- Winogrande -----------------------------------------------------------------------------------

OPTION_CASES = [
    ("2", 1.0, "2"),
    ("Option 2", 1.0, "2"),
    ("Option2: Maria", 1.0, "2"),
    ("\\boxed{2}", 1.0, "2"),
    ("The answer is 2.", 1.0, "2"),
    ("Maria", 1.0, "2"),
    ("maria.", 1.0, "2"),
    ("The answer is Maria.", 1.0, "2"),
    ("Maria (option 2)", 1.0, "2"),
    ("1", 0.0, "1"),
    ("Sarah", 0.0, "1"),
    ("Sarah or Maria", 0.0, None),
    ("Option 1 is wrong, option 2 is right", 0.0, None),  # two numbers: ambiguous
    ("12", 0.0, None),  # no digit of a larger number
    ("32", 0.0, None),
    ("1.5", 0.0, None),
    ("2nd", 0.0, None),
    ("", 0.0, None),
]


@pytest.mark.parametrize(("answer", "acc", "extracted"), OPTION_CASES)
def test_winogrande(answer: str, acc: float, extracted: str | None) -> None:
    result = score_option(answer, WINOGRANDE["answer"], WINOGRANDE["question"])
    assert (result.acc, result.extracted) == (acc, extracted)


def test_winogrande_reference_1() -> None:
    assert score_option("Sarah", " 1 ", WINOGRANDE["question"]) == RuleResult(1.0, "1")


@pytest.mark.parametrize(
    ("answer", "number"), [("Sarah's mother", "2"), ("Sarah", "1"), ("Sarah or Sarah's mother", None)]
)
def test_winogrande_exact_option_beats_containment(answer: str, number: str | None) -> None:
    # "Sarah's mother" contains option 1 too: only the exact match tells them apart.
    question = "_ was late.\nOption1: Sarah\nOption2: Sarah's mother"
    assert extract_option(answer, question) == number


def test_winogrande_reference_must_be_1_or_2() -> None:
    with pytest.raises(ValueError, match="'1' or '2'"):
        score_option("1", "A")
    assert extract_option("Option 1") == "1"


# --- helpers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "content"),
    [
        ("x \\boxed{5}", "5"),
        ("\\boxed{1} then \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\boxed {a{b}c}", "a{b}c"),
        ("\\boxed{}", ""),
        ("\\boxed{5", None),
        ("no box", None),
    ],
)
def test_last_boxed(text: str, content: str | None) -> None:
    assert last_boxed(text) == content


def test_every_rule_has_a_scorer() -> None:
    assert set(RULES) == set(Rule)


# --- every real reference through its own scorer ---------------------------------------------------


def _eval_sets_dir() -> Path:
    override = os.environ.get("PASR_PAPER_EVAL_SETS")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "shared" / "paper_eval_sets"


def _load(path: Path) -> list[dict]:
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _gsm8k_answer(record: dict) -> tuple[str, str, str]:
    return f"\\boxed{{{gsm8k_reference(record['answer'])}}}", record["answer"], record["question"]


# data source -> (file, record -> (answer, reference, question))
SHARED = {
    "mmlu": ("mmlu.json", lambda r: (r["Ground_truth"], r["Ground_truth"], r["Question"])),
    "arc_challenge": ("arc_challenge.jsonl", lambda r: (r["answer"], r["answer"], r["question"])),
    "commonsenseqa": ("commonsenseqa.jsonl", lambda r: (r["answer"], r["answer"], r["question"])),
    "gpqa": ("gpqa.jsonl", lambda r: (r["answer"], r["answer"], r["question"])),
    "winogrande": ("winogrande.jsonl", lambda r: (r["answer"], r["answer"], r["question"])),
    "gsm8k": ("gsm8k.jsonl", _gsm8k_answer),
    "math": ("math.json", lambda r: (f"\\boxed{{{r['answer']}}}", r["answer"], r["question"])),
    "aime24": ("aime24.jsonl", lambda r: (r["solution"], r["solution"], r["problem"])),
}


@pytest.mark.shared
def test_every_shared_reference_scores_as_correct() -> None:
    """Each real record's reference, given as the answer, must score 1 with its rule scorer.

    All records, MATH's 500 included (math-verify takes a few seconds for them, no sampling needed).
    """
    directory = _eval_sets_dir()
    if not directory.is_dir():
        pytest.skip(f"paper eval sets not found at {directory} (set PASR_PAPER_EVAL_SETS to override)")
    failures: list[str] = []
    for data_source, (filename, to_case) in SHARED.items():
        path = directory / filename
        if not path.exists():
            failures.append(f"{data_source}: missing {filename}")
            continue
        scorer = RULES[resolve_task(data_source).rule]
        for index, record in enumerate(_load(path)):
            answer, reference, question = to_case(record)
            try:
                result = scorer(answer, reference, question)
            except Exception as error:  # report every record, not just the first
                failures.append(f"{data_source}[{index}] reference {reference[-60:]!r}: {error!r}")
                continue
            if result.acc != 1.0:
                failures.append(f"{data_source}[{index}] {answer[-60:]!r} vs {reference[-60:]!r}: {result}")
    assert not failures, f"{len(failures)} reference(s) do not score as correct:\n" + "\n".join(failures[:50])


CHOICE_SETS = {
    "mmlu": ("mmlu.json", "Question", "Ground_truth"),
    "arc_challenge": ("arc_challenge.jsonl", "question", "answer"),
    "commonsenseqa": ("commonsenseqa.jsonl", "question", "answer"),
    "gpqa": ("gpqa.jsonl", "question", "answer"),
}
# How answers name the reference option in sentences; {t} its text, {l} its label.
REAL_PHRASINGS = [
    "The answer is {t}.",
    "{t}",
    "So the answer is {t}, as argued above.",
    "I choose {l} because {t}.",
    "… so {t} ({l}).",
    "**{l}**",
    "{l}, since {t}",
    "{lower}",
]


@pytest.mark.shared
def test_real_questions_in_sentences() -> None:
    """Every real multiple-choice record, its reference named in each phrasing, scores 1; every GSM8K
    reference written with thousands separators and a unit scores 1.

    Left out, because the phrasing itself is ambiguous there: an option text shared by two options
    (CSQA has a few) or equal to a label, and a text that holds a parenthesised label ("(E)-bicyclo...")
    in the "({l})" phrasing.
    """
    directory = _eval_sets_dir()
    if not directory.is_dir():
        pytest.skip(f"paper eval sets not found at {directory} (set PASR_PAPER_EVAL_SETS to override)")
    failures: list[str] = []
    checked = 0
    for data_source, (filename, question_key, answer_key) in CHOICE_SETS.items():
        for index, record in enumerate(_load(directory / filename)):
            reference = choice_reference(record[answer_key])
            labels = NUMBER_LABELS if reference in NUMBER_LABELS else LETTER_LABELS
            options = options_from_question(record[question_key], labels)
            keys = [" ".join(text.lower().split()) for text in options.values()]
            text = options[reference]
            if keys.count(" ".join(text.lower().split())) > 1 or text.strip().upper() in labels:
                continue
            for phrasing in REAL_PHRASINGS:
                if "({l})" in phrasing and re.search(r"\([A-E1-5]\)", text):
                    continue
                answer = phrasing.format(t=text, l=reference, lower=reference.lower())
                result = score_choice(answer, record[answer_key], record[question_key])
                checked += 1
                if result.acc != 1.0:
                    failures.append(f"{data_source}[{index}] {answer[:80]!r}: {result}")
    for index, record in enumerate(_load(directory / "gsm8k.jsonl")):
        number = int(gsm8k_reference(record["answer"]).replace(",", ""))
        for answer in (f"The answer is {number:,} dollars.", f"\\boxed{{{number:,}}}".replace(",", "{,}")):
            checked += 1
            if score_gsm8k(answer, record["answer"]).acc != 1.0:
                failures.append(f"gsm8k[{index}] {answer!r}")
    assert checked > 20_000
    assert not failures, f"{len(failures)} of {checked} answers do not score as correct:\n" + "\n".join(failures[:50])


def test_winogrande_option_without_text_matches_nothing() -> None:
    assert extract_option("Bob", "_ was late.\nOption1: Sarah\nOption2: ???") is None


@pytest.mark.parametrize(
    ("answer", "question", "label"),
    [
        ("The answer is -5.", "Which?\nA: \u22125\nB: 5", "A"),  # typographic minus in an option
        ("...", "Which?\nA: ?\nB: bank", None),  # an option without words matches no answer
        ("The answer is B because two.", "Which?\nA: one\nB: two\nC: three\nD: B", "B"),  # "D: B" is no text
        ("Option: bank", BANK["question"], "A"),  # an opening other than "the answer is" before the text
    ],
)
def test_option_text_edge_cases(answer: str, question: str, label: str | None) -> None:
    assert extract_choice(answer, question) == label


def test_other_label_sets() -> None:
    assert extract_choice("Answer: D", labels="ABCD") == "D"
    assert extract_choice("E", labels="ABCD") is None
