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

# Commas only as thousands separators: "1,000,000" is one number, "1,2,3" is three.
_NUMBER = re.compile(r"-?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\d)|-?\$?\.\d+")
_BOXED = re.compile(r"\\boxed\s*\{")
# LaTeX thousands separators between digits (``18{,}000``, ``18\,000``) and the ``\!`` spacing MATH uses.
_LATEX_THOUSANDS = re.compile(r"(?<=\d)(?:\{,\}|\\,|\\ |\u2009|\u202f)(?=\d{3})")
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


def _to_number(token: str) -> float | None:
    cleaned = token.replace(",", "").replace("$", "")
    try:
        return float(cleaned)
    except ValueError:
        return None


def _normalise_numbers(text: str) -> str:
    text = _LATEX_NEG_SPACE.sub("", text).replace("\u2212", "-")  # U+2212 is the typographic minus
    return _LATEX_THOUSANDS.sub(",", text)


def _last_number(text: str) -> str | None:
    matches = _NUMBER.findall(_normalise_numbers(text))
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


@dataclass(frozen=True, slots=True)
class _ChoicePatterns:
    bare: re.Pattern[str]  # "B", "(B)", "B.", "B)"
    leading: re.Pattern[str]  # "B. text", "(B) text", "B: text", or "B" alone on the first line
    answer_stated: re.Pattern[str]  # "Answer: B", "the answer is (B)", "final answer: option B"
    option_stated: re.Pattern[str]  # "Option B", "choice (B)"
    option_line: re.Pattern[str]  # option lines of a question: "A: text", "A. text", "A) text", "(A) text"


def _choice_patterns(labels: str) -> _ChoicePatterns:
    # Labels are matched case-sensitively: in "the answer is a dog" the "a" is not option A.
    label = f"([{re.escape(labels)}])"
    end = r"(?!\w|\.\d)"
    return _ChoicePatterns(
        bare=re.compile(rf"^\s*[(\[]?{label}[)\]]?\s*[.:)]?\s*$"),
        leading=re.compile(rf"^\s*[(\[]?{label}(?:\s*[.:)]\s+\S|[)\]]?\s*[.:]?[ \t]*\n)"),
        answer_stated=re.compile(
            rf"(?i:\banswer)(?:\s*(?i:is|:|=))*\s*(?i:option\s*|choice\s*)?[(\[]?\s*{label}\s*[)\]]?{end}"
        ),
        option_stated=re.compile(rf"(?i:\b(?:option|choice))\s*(?i:is|:)?\s*[(\[]?\s*{label}\s*[)\]]?{end}"),
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


def extract_choice(answer: str, question: str = "", labels: str = LETTER_LABELS) -> str | None:
    """The option label an answer selects, or None when it selects none unambiguously.

    ``labels`` are the option labels in use (letters A-E by default; ``NUMBER_LABELS`` for
    questions whose options are numbered).
    """
    patterns = _patterns_for(labels)
    boxed = last_boxed(answer)
    candidates = [boxed] if boxed is not None else []
    candidates.append(answer)
    for raw in candidates:
        text = _undecorate(raw)
        for pattern in (patterns.bare, patterns.leading):
            match = pattern.match(text)
            if match:
                return match.group(1)
        stated = patterns.answer_stated.findall(text)
        if stated:
            return stated[-1]
        named = set(patterns.option_stated.findall(text))
        if len(named) == 1:
            return named.pop()
    # The answer may be the option's text alone.
    wanted = _normalise(_undecorate(answer))
    matching = [label for label, text in options_from_question(question, labels).items() if _normalise(text) == wanted]
    return matching[0] if len(matching) == 1 and wanted else None


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
