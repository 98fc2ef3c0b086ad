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

from math_verify import parse as mv_parse
from math_verify import verify as mv_verify

from recipe.pasr.tasks import Rule

MATH_TIMEOUT_S = 5


@dataclass(frozen=True, slots=True)
class RuleResult:
    acc: float
    extracted: str | None


# --- numbers (GSM8K) -----------------------------------------------------------------------------

_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?|-?\$?\.\d+")
_BOXED = re.compile(r"\\boxed\s*\{")


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


def _to_number(token: str) -> float | None:
    cleaned = token.replace(",", "").replace("$", "")
    try:
        return float(cleaned)
    except ValueError:
        return None


def _last_number(text: str) -> str | None:
    matches = _NUMBER.findall(text)
    return matches[-1] if matches else None


def gsm8k_reference(ground_truth: str) -> str:
    """The final number of a GSM8K reference (``... #### 18``), or the reference itself."""
    _, sep, tail = ground_truth.rpartition("####")
    return (tail if sep else ground_truth).strip()


def score_gsm8k(answer: str, ground_truth: str, question: str = "") -> RuleResult:
    """Final number of the answer (a boxed number wins) against the ``#### N`` reference."""
    reference = _to_number(gsm8k_reference(ground_truth).rstrip("."))
    if reference is None:
        raise ValueError(f"GSM8K reference has no final number: {ground_truth[-80:]!r}")
    boxed = last_boxed(answer)
    token = _last_number(boxed if boxed is not None else answer)
    if token is None:
        return RuleResult(0.0, None)
    value = _to_number(token)
    correct = value is not None and abs(value - reference) <= 1e-6 * max(1.0, abs(reference))
    return RuleResult(float(correct), token.replace(",", "").replace("$", ""))


# --- math (math-verify) --------------------------------------------------------------------------


def _timeout() -> int | None:
    # math-verify's timeout uses SIGALRM, which only the main thread may set; reward workers
    # score in executor threads, where it must be off.
    return MATH_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


def score_math(answer: str, ground_truth: str, question: str = "") -> RuleResult:
    """math-verify equivalence; the reference may be a bare LaTeX answer or contain ``\\boxed{}``."""
    timeout = _timeout()
    gold_text = ground_truth if "\\boxed" in ground_truth or "$" in ground_truth else f"${ground_truth}$"
    gold = mv_parse(gold_text, parsing_timeout=timeout)
    if not gold:
        raise ValueError(f"math reference cannot be parsed: {ground_truth[:80]!r}")
    boxed = last_boxed(answer)
    prediction = mv_parse(f"\\boxed{{{boxed}}}" if boxed is not None else answer, parsing_timeout=timeout)
    if not prediction and boxed is None:
        # Bare LaTeX such as ``(3, \\frac{\\pi}{2})`` only parses inside math delimiters.
        prediction = mv_parse(f"${answer}$", parsing_timeout=timeout)
    if not prediction:
        return RuleResult(0.0, None)
    correct = mv_verify(gold, prediction, timeout_seconds=timeout)
    return RuleResult(float(correct), str(prediction[-1]))


# --- multiple choice -----------------------------------------------------------------------------

_LETTERS = "ABCDE"
_BARE_LETTER = re.compile(r"^\s*\(?([A-E])\)?\s*[.:)]?\s*$")
_STATED_LETTER = re.compile(
    r"(?:answer|option|choice)\s*(?:is|:|=)?\s*(?:option\s*)?[(\[]?\s*([A-E])\s*[)\]]?(?![A-Za-z])", re.IGNORECASE
)
_LEADING_LETTER = re.compile(r"^\s*\(?([A-E])\s*[.:)]\s+\S")
_OPTION_LINE = re.compile(r"^\s*\(?([A-E])\s*[.:)]\s*(.+?)\s*$", re.MULTILINE)


def _normalise(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", text.lower()).strip()


def options_from_question(question: str) -> dict[str, str]:
    """Lettered options listed in a question (``A: text``, ``A. text``, ``A) text``, ``(A) text``)."""
    return {letter: text for letter, text in _OPTION_LINE.findall(question)}


def extract_choice(answer: str, question: str = "") -> str | None:
    """The option letter an answer selects, or None when it selects none unambiguously."""
    boxed = last_boxed(answer)
    candidates = [boxed] if boxed is not None else []
    candidates.append(answer)
    for text in candidates:
        for pattern in (_BARE_LETTER, _LEADING_LETTER):
            match = pattern.match(text)
            if match:
                return match.group(1)
        stated = _STATED_LETTER.findall(text)
        if stated:
            return stated[-1].upper()
    # The answer may be the option's text alone.
    wanted = _normalise(answer)
    matching = [letter for letter, text in options_from_question(question).items() if _normalise(text) == wanted]
    return matching[0] if len(matching) == 1 and wanted else None


def choice_reference(ground_truth: str) -> str:
    letter = extract_choice(ground_truth)
    if letter is None:
        raise ValueError(f"multiple-choice reference is not a letter A-E: {ground_truth!r}")
    return letter


def score_choice(answer: str, ground_truth: str, question: str = "") -> RuleResult:
    reference = choice_reference(ground_truth)
    letter = extract_choice(answer, question)
    return RuleResult(float(letter == reference), letter)


# --- Winogrande ----------------------------------------------------------------------------------

_OPTION_NUMBER = re.compile(r"(?:option\s*)?([12])(?!\d)", re.IGNORECASE)
_WINOGRANDE_OPTION = re.compile(r"^\s*Option\s*([12])\s*:\s*(.+?)\s*$", re.MULTILINE | re.IGNORECASE)


def extract_option(answer: str, question: str = "") -> str | None:
    """Winogrande option number ("1"/"2") from "2", "Option 2", "Option2: Maria" or the option text."""
    boxed = last_boxed(answer)
    text = boxed if boxed is not None else answer
    numbers = set(_OPTION_NUMBER.findall(text))
    if len(numbers) == 1:
        return numbers.pop()
    wanted = _normalise(text)
    options = dict(_WINOGRANDE_OPTION.findall(question))
    matching = [number for number, option in options.items() if _normalise(option) == wanted]
    return matching[0] if len(matching) == 1 and wanted else None


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
