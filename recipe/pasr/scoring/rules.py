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

"""Rule-based accuracy for verifiable answers.

Each scorer takes the answer text (the content of ``<answer>``, or a standard response's whole
text), the reference and the question, and returns a :class:`RuleResult`: acc in {0, 1} and what
it extracted, so a wrong score can be traced to a wrong extraction.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from math_verify import parse as mv_parse
from math_verify import verify as mv_verify

from recipe.pasr.tasks import Rule

MATH_TIMEOUT_S = 5


@dataclass(frozen=True, slots=True)
class RuleResult:
    acc: float
    extracted: str | None


# --- numbers (GSM8K) -----------------------------------------------------------------------------

# Commas only as thousands separators: "1,000,000" is one number, "1,2,3" is three.
_NUMBER = re.compile(r"-?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\d)|-?\$?\.\d+")
# An exponent is part of a unit ("5 m^2", "cm^{3}"), never the answer.
_EXPONENT = re.compile(r"\^\s*(?:\{[^{}]*\}|-?\d+)")
_BOXED = re.compile(r"\\boxed\s*\{")
# Thousands separators between digits: LaTeX ``18{,}000`` and ``18\,000``, thin and no-break spaces.
_THOUSANDS = re.compile(r"(?<=\d)(?:\{,\}|\\,|\\ |\u2009|\u202f|\u00a0)(?=\d{3}(?!\d))")
_LATEX_NEG_SPACE = re.compile(r"\\!")


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (braces balanced), or None."""
    starts = [match.end() for match in _BOXED.finditer(text)]
    if not starts:
        return None
    start = starts[-1]
    depth = 1
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[start:index]
    return None


def _plain_number(token: str) -> str:
    return token.replace(",", "").replace("$", "")


def _normalise_numbers(text: str) -> str:
    text = _LATEX_NEG_SPACE.sub("", text).replace("\u2212", "-")  # U+2212 is the typographic minus
    return _THOUSANDS.sub(",", text)


def _last_number(text: str) -> str | None:
    matches = _NUMBER.findall(_EXPONENT.sub(" ", _normalise_numbers(text)))
    return matches[-1] if matches else None


def gsm8k_reference(ground_truth: str) -> str:
    """The final number of a GSM8K reference (``... #### 18``), or the reference itself."""
    _, sep, tail = ground_truth.rpartition("####")
    return (tail if sep else ground_truth).strip()


def score_gsm8k(answer: str, ground_truth: str, question: str = "") -> RuleResult:
    """Final number of the answer (a boxed number wins) against the ``#### N`` reference, compared exactly.

    Exactly, not within a tolerance: GSM8K answers are integers or short decimals, and 2000001 is not
    2000000. Units, currency signs and thousands separators around the number do not matter.
    """
    try:
        reference = Fraction(_plain_number(_normalise_numbers(gsm8k_reference(ground_truth))))  # "18." is 18
    except ValueError:
        raise ValueError(f"GSM8K reference has no final number: {ground_truth[-80:]!r}") from None
    boxed = last_boxed(answer)
    token = _last_number(boxed if boxed is not None else answer)
    if token is None:
        return RuleResult(0.0, None)
    value = _plain_number(token)
    return RuleResult(float(Fraction(value) == reference), value)


# --- math (math-verify) --------------------------------------------------------------------------


def _timeout() -> int | None:
    # math-verify's timeout uses SIGALRM, which only the main thread may set; reward workers
    # score in executor threads, where it must be off.
    return MATH_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


# Math delimiters math-verify anchors on. An escaped ``\\$`` (a dollar sign, as in MATH's ``\\$18.90``)
# is not one.
_MATH_DELIMITERS = re.compile(r"(?<!\\)\$|\\\(|\\\[|\\boxed")


# A word of three or more letters that is not a LaTeX command or argument (``\\frac``, ``{pmatrix}``):
# the answer is (partly) prose.
_PROSE_WORD = re.compile(r"(?<![\\a-zA-Z{])[a-zA-Z]{3,}")


def _has_math_delimiters(text: str) -> bool:
    return _MATH_DELIMITERS.search(text) is not None


def score_math(answer: str, ground_truth: str, question: str = "") -> RuleResult:
    """math-verify equivalence; the reference may be a bare LaTeX answer or contain ``\\boxed{}``.

    A bare LaTeX answer (no ``\\boxed``, no math delimiters, no prose) is parsed the way the reference
    is, inside ``$...$``: bare ``5, 7`` is the set {5, 7} there, while outside delimiters math-verify
    reads only its last number (and ``7,5`` as the decimal 7.5). Prose ("It equals 0.5") is parsed
    as is first: inside ``$...$`` its words would become a product of symbols.
    """
    timeout = _timeout()
    gold_text = ground_truth if _has_math_delimiters(ground_truth) else f"${ground_truth}$"
    gold = mv_parse(gold_text, parsing_timeout=timeout)
    if not gold:
        raise ValueError(f"math reference cannot be parsed: {ground_truth[:80]!r}")
    boxed = last_boxed(answer)
    if boxed is not None:
        attempts = [f"\\boxed{{{boxed}}}"]
    elif _has_math_delimiters(answer) or _PROSE_WORD.search(answer):
        attempts = [answer, f"${answer}$"]
    else:
        attempts = [f"${answer}$", answer]
    prediction: list = []
    for text in attempts:
        prediction = mv_parse(text, parsing_timeout=timeout)
        if prediction:
            break
    if not prediction:
        return RuleResult(0.0, None)
    correct = mv_verify(gold, prediction, timeout_seconds=timeout)
    return RuleResult(float(correct), str(prediction[-1]))


# --- multiple choice -----------------------------------------------------------------------------

LETTER_LABELS = "ABCDE"
NUMBER_LABELS = "12345"  # a few ARC-Challenge questions number their options 1-4


# What introduces a chosen option: "the answer is", "Answer:", "I choose", "I'd go with", "we pick"
# (a verb without its subject is too often part of an option's text: "Pick one day a year ...").
_CHOSEN_BY = (
    r"(?i:\banswer\b(?:\s+(?:is|would\s+be|should\s+be|must\s+be))?\s*[:=]?"
    r"|\b(?:i|we)(?:'d|'ll|\s+would|\s+will)?\s+(?:choose|chose|pick|picked|select|selected|go\s+with))"
)
# The same phrase opening the answer, with what may precede it ("So the final answer is", "I choose").
_OPENING = re.compile(
    r"^\s*(?:(?:so|thus|therefore|hence)\b[\s,]*)?(?:the\s+)?(?:(?:final|correct|best|right)\s+)?"
    r"(?:answer|option|choice)\b(?:\s+(?:is|would\s+be|should\s+be|must\s+be))?\s*[:=]?\s*"
    r"|^\s*i\s+(?:would\s+|will\s+)?(?:choose|pick|select|go\s+with)\b[\s:]*",
    re.IGNORECASE,
)
_CHOSEN = re.compile(_CHOSEN_BY)
_ARTICLE = re.compile(r"^(?:a|an|the)\s+")  # applied to normalised text


@dataclass(frozen=True, slots=True)
class _ChoicePatterns:
    bare: re.Pattern[str]  # "B", "(b)", "B.", "B)": the whole answer, any case
    leading: re.Pattern[str]  # "B. text", "(B) text", "B: text", "A, since ...", or "B" alone on the first line
    answer_stated: re.Pattern[str]  # "Answer: B", "the answer is (B)", "final answer: option B", "I choose B"
    option_stated: re.Pattern[str]  # "Option B", "choice (B)"
    marked: re.Pattern[str]  # "(C)", "**C**", "*C*", "__C__" anywhere in the text
    option_line: re.Pattern[str]  # option lines of a question: "A: text", "A. text", "A) text", "(A) text"


def _choice_patterns(labels: str) -> _ChoicePatterns:
    # Outside a whole-answer label, labels are matched case-sensitively: in "the answer is a dog" the
    # "a" is not option A.
    label = f"([{re.escape(labels)}])"
    end = r"(?!\w|\.\d)"
    # Not the start of a list of labels ("A, B and C are wrong").
    not_a_list = rf"(?![(\[]?[{re.escape(labels)}][)\]]?\s*(?:,|or\b|and\b))"
    return _ChoicePatterns(
        bare=re.compile(rf"^\s*[(\[]?((?i:[{re.escape(labels)}]))[)\]]?\s*[.:)!]?\s*$"),
        leading=re.compile(
            rf"^\s*[(\[]?{label}(?:\s*[.:),;\u2013\u2014-]\s+{not_a_list}\S"
            r"|\s+(?:because|since|as|is\s+(?:correct|right|the\s+answer))\b"
            rf"|[)\]]?\s*[.:]?[ \t]*\n)"
        ),
        answer_stated=re.compile(rf"{_CHOSEN_BY}\s*(?i:option\s*|choice\s*)?[(\[]?\s*{label}\s*[)\]]?{end}"),
        option_stated=re.compile(rf"(?i:\b(?:option|choice))\s*(?i:is|:)?\s*[(\[]?\s*{label}\s*[)\]]?{end}"),
        marked=re.compile(rf"\(\s*{label}\s*\)|(\*\*|__|\*)\s*{label}\s*[.:)]?\s*\2"),
        option_line=re.compile(rf"^[ \t]*\(?{label}[ \t]*[.:)][ \t]*(.+?)[ \t]*$", re.MULTILINE),
    )


_PATTERNS = {labels: _choice_patterns(labels) for labels in (LETTER_LABELS, NUMBER_LABELS)}
# Decorations around a chosen label: markdown emphasis, math dollars, \text{B} and friends.
_LATEX_TEXT = re.compile(r"\\(?:text|textbf|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")


def _patterns_for(labels: str) -> _ChoicePatterns:
    patterns = _PATTERNS.get(labels)
    return patterns if patterns is not None else _choice_patterns(labels)


def _normalise(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", text.lower()).strip()


def _undecorate(text: str) -> str:
    text = _LATEX_TEXT.sub(r"\1", text)
    return re.sub(r"(?<!\\)\$|\*\*?|__", "", text)


def options_from_question(question: str, labels: str = LETTER_LABELS) -> dict[str, str]:
    """Labelled options listed in a question (``A: text``, ``A. text``, ``A) text``, ``(A) text``)."""
    return {label: text for label, text in _patterns_for(labels).option_line.findall(question)}


def _label_in(raw: str, patterns: _ChoicePatterns) -> str | None:
    """The label a text names, by the strongest phrasing found (see :func:`extract_choice`)."""
    text = _undecorate(raw)
    leading = patterns.leading.match(text)
    if leading:
        return leading.group(1)
    stated = patterns.answer_stated.findall(text)
    if stated:
        return stated[-1]
    for named in (
        set(patterns.option_stated.findall(text)),
        {paren or emphasised for paren, _, emphasised in patterns.marked.findall(raw)},
    ):
        if len(named) == 1:
            return named.pop()
    return None


# Words, signed decimals and operators of an option's text: "10^-4 eV" -> "10 ^ -4 ev",
# "(1+n*v)/(n-v)" -> "1 + n v / n - v" (emphasis stars are gone by then).
_KEY_TOKEN = re.compile(r"-?\d+(?:\.\d+)*|[a-z0-9]+|[-+*/=<>^]")


def _option_key(text: str) -> str:
    """An option's text as compared with answers: case, punctuation and a leading article do not matter."""
    return _ARTICLE.sub("", " ".join(_KEY_TOKEN.findall(text.lower().replace("\u2212", "-"))))


def _exact_option(text: str, keys: dict[str, str]) -> str | None:
    """The one option whose text is the whole answer ("bank", "The answer is bank.")."""
    wanted = {_option_key(text), _option_key(_OPENING.sub("", text, count=1))} - {""}
    exact = [label for label, key in keys.items() if key in wanted]
    return exact[0] if len(exact) == 1 else None


def _stated_option(text: str, keys: dict[str, str]) -> str | None:
    """The option whose text opens what follows the last "the answer is" ("..., so the answer is a bank, as ...").

    The whole rest of the text counts (an option's text may hold several sentences); the last such
    phrase, as for a stated label: a response may change its mind.
    """
    stated = [match.end() for match in _CHOSEN.finditer(text)]
    if not stated:
        return None
    rest = _option_key(text[stated[-1] :]) + " "
    # The longest option text that opens the rest: "department store", not "department".
    starts = {label: key for label, key in keys.items() if rest.startswith(key + " ")}
    longest = max((len(key) for key in starts.values()), default=0)
    found = [label for label, key in starts.items() if len(key) == longest]
    return found[0] if len(found) == 1 else None


def extract_choice(answer: str, question: str = "", labels: str = LETTER_LABELS) -> str | None:
    """The option label an answer selects, or None when it selects none unambiguously.

    In order, first in a ``\\boxed{}`` answer, then in the whole answer: the whole answer a label in
    any case ("b", "(C)", "Answer: a"); the text of exactly one option as the whole answer; the text
    of one option opening what follows "the answer is" (so "The answer is A volcano ..." is the
    option of that text, not A); a label opening the answer ("B. text", "A, since B fails");
    the last stated choice ("the answer is B", "I choose A because"); a single option named
    ("Option B") or marked ("... so 10^-4 eV (C).", "**B**"). ``labels`` are the option labels in
    use (letters A-E by default; ``NUMBER_LABELS`` for questions whose options are numbered).
    """
    patterns = _patterns_for(labels)
    keys = {
        label: _option_key(_undecorate(option)) for label, option in options_from_question(question, labels).items()
    }
    # An option whose text is empty or a label ("D: B") is never read as text after "the answer is".
    stated_keys = {label: key for label, key in keys.items() if key and key.upper() not in labels}
    boxed = last_boxed(answer)
    candidates = [boxed] if boxed is not None else []
    candidates.append(answer)
    for raw in candidates:
        text = _undecorate(raw)
        bare = patterns.bare.match(_OPENING.sub("", text, count=1))
        if bare:  # a label beats an option whose text is a label ("D: B")
            return bare.group(1).upper()
        label = _exact_option(text, keys) or _stated_option(text, stated_keys) or _label_in(raw, patterns)
        if label is not None:
            return label
    return None


def choice_reference(ground_truth: str) -> str:
    """The reference label: a letter A-E, or a number 1-5 for numbered options."""
    for labels in (LETTER_LABELS, NUMBER_LABELS):
        label = extract_choice(str(ground_truth), labels=labels)
        if label is not None:
            return label
    raise ValueError(f"multiple-choice reference is not a letter A-E or a number 1-5: {ground_truth!r}")


def score_choice(answer: str, ground_truth: str, question: str = "") -> RuleResult:
    reference = choice_reference(ground_truth)
    labels = NUMBER_LABELS if reference in NUMBER_LABELS else LETTER_LABELS
    label = extract_choice(answer, question, labels)
    return RuleResult(float(label == reference), label)


# --- Winogrande ----------------------------------------------------------------------------------

# A standalone 1 or 2 ("2", "Option 2", "Option2:"), not a digit of "12", "1.5" or "2nd".
_OPTION_NUMBER = re.compile(r"(?<![\w.])(?:option\s*)?([12])(?!\w|\.\d)", re.IGNORECASE)
_WINOGRANDE_OPTION = re.compile(r"^\s*Option\s*([12])\s*:\s*(.+?)\s*$", re.MULTILINE | re.IGNORECASE)


def extract_option(answer: str, question: str = "") -> str | None:
    """Winogrande option number ("1"/"2") from "2", "Option 2", "Option2: Maria" or the option text.

    Text is matched against the question's options: the whole answer equal to one option, or
    naming exactly one of them as a word ("The answer is Maria.").
    """
    boxed = last_boxed(answer)
    text = _undecorate(boxed if boxed is not None else answer)
    numbers = set(_OPTION_NUMBER.findall(text))
    if len(numbers) == 1:
        return numbers.pop()
    wanted = _normalise(text)
    if not wanted:
        return None
    options = {number: _normalise(option) for number, option in _WINOGRANDE_OPTION.findall(question)}
    exact = [number for number, option in options.items() if option and option == wanted]
    if len(exact) == 1:
        return exact[0]
    named = [number for number, option in options.items() if option and f" {option} " in f" {wanted} "]
    return named[0] if len(named) == 1 and not numbers else None


def score_option(answer: str, ground_truth: str, question: str = "") -> RuleResult:
    reference = str(ground_truth).strip()
    if reference not in ("1", "2"):
        raise ValueError(f"Winogrande reference must be '1' or '2', got {ground_truth!r}")
    number = extract_option(answer, question)
    return RuleResult(float(number == reference), number)


RULES: dict[Rule, Callable[[str, str, str], RuleResult]] = {
    Rule.MATH: score_math,
    Rule.GSM8K: score_gsm8k,
    Rule.CHOICE: score_choice,
    Rule.OPTION: score_option,
}
