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

"""Response structure parser: table-driven cases, then properties (hypothesis) against an oracle."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recipe.pasr.response import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    REFINE_CLOSE,
    REFINE_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
    EmptyRefine,
    RefineBlock,
    Span,
    open_think_prefix,
    parse_response,
)

TAGS = (THINK_OPEN, THINK_CLOSE, REFINE_OPEN, REFINE_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)
CLOSING = (THINK_CLOSE, REFINE_CLOSE, ANSWER_CLOSE)
OPENING = (THINK_OPEN, REFINE_OPEN, ANSWER_OPEN)
TAG_RE = re.compile("|".join(re.escape(tag) for tag in TAGS))

# --- table: valid responses -----------------------------------------------------------------------

VALID = [
    # (id, response, num_refine, answer)
    ("plain", "<think>2+2 is 4</think><answer>4</answer>", 0, "4"),
    ("whitespace-everywhere", "\n <think>\nx\n</think>\n\n<answer>\n 4 \n</answer>\n ", 0, "4"),
    ("empty-think", "<think></think><answer>4</answer>", 0, "4"),
    ("one-refine", "<think>2+2=5 <refine>no: 2+2=4</refine> so 4</think> <answer>4</answer>", 1, "4"),
    ("refine-at-edges", "<think><refine>check</refine><refine>again</refine></think><answer>4</answer>", 2, "4"),
    (
        "three-refines",
        "<think>a<refine>b</refine>c<refine>d</refine>e<refine> f </refine></think>\n<answer>x</answer>",
        3,
        "x",
    ),
    ("near-miss-tags-are-text", "<think>a <Think> <thinking> </ refine> <answer </think><answer>4</answer>", 0, "4"),
    ("multiline-answer", "<think>t</think><answer>line 1\nline 2</answer>", 0, "line 1\nline 2"),
]


@pytest.mark.parametrize(("response", "num_refine", "answer"), [case[1:] for case in VALID], ids=[c[0] for c in VALID])
def test_valid_responses(response: str, num_refine: int, answer: str) -> None:
    parsed = parse_response(response)
    assert parsed.format_ok, parsed.format_error
    assert parsed.format_error is None
    assert parsed.refine_ok
    assert parsed.num_refine == num_refine
    assert parsed.is_refine == (num_refine > 0)
    assert parsed.answer == answer
    assert parsed.prefix_len == 0
    # Spans index into text: the think span is the content between the think tags.
    assert parsed.think is not None
    think = response[parsed.think.start : parsed.think.end]
    assert response[parsed.think.start - len(THINK_OPEN) : parsed.think.start] == THINK_OPEN
    assert response[parsed.think.end : parsed.think.end + len(THINK_CLOSE)] == THINK_CLOSE
    for block in parsed.refine_blocks:
        assert response[block.span.start : block.span.end] == block.text
        assert f"{REFINE_OPEN}{block.text}{REFINE_CLOSE}" in think


# --- table: invalid responses ---------------------------------------------------------------------

INVALID = [
    # (id, response, format_error substring, is_refine)
    ("missing-answer", "<think>x</think>", "missing <answer>", False),
    ("missing-answer-refining", "<think>x<refine>fix</refine>y</think>", "missing <answer>", True),
    ("truncated-in-think-refining", "<think>x<refine>fix</refine> and then", "missing </think>", True),
    ("missing-think", "<answer>4</answer>", "missing <think>", False),
    ("empty-response", "", "missing <think>", False),
    ("answer-first", "<answer>4</answer><think>x</think>", "out of order", False),
    ("duplicated-think", "<think>a</think><think>b</think><answer>4</answer>", "duplicated <think>", False),
    ("duplicated-answer", "<think>a</think><answer>4</answer><answer>5</answer>", "duplicated <answer>", False),
    ("stray-think-close", "<think>a</think></think><answer>4</answer>", "duplicated </think>", False),
    ("unclosed-answer", "<think>a</think><answer>4", "missing </answer>", False),
    ("text-before", "Sure! <think>a</think><answer>4</answer>", "before <think>", False),
    ("text-between", "<think>a</think> so <answer>4</answer>", "between", False),
    ("text-after", "<think>a</think><answer>4</answer> done", "after </answer>", False),
    ("text-after-refining", "<think>a<refine>b</refine></think><answer>4</answer>.", "after </answer>", True),
    ("empty-answer", "<think>a</think><answer> \n </answer>", "empty answer", False),
    ("capitalised-tags", "<Think>a</Think><Answer>4</Answer>", "missing <think>", False),
    ("empty-refine", "<think>a<refine></refine>b</think><answer>4</answer>", "refine", False),
    ("blank-refine", "<think>a<refine> \n\t</refine>b</think><answer>4</answer>", "refine", False),
    (
        "blank-refine-beside-good",
        "<think><refine>ok</refine><refine> </refine></think><answer>4</answer>",
        "refine",
        False,
    ),
    ("nested-refine", "<think><refine>a<refine>b</refine>c</refine></think><answer>4</answer>", "refine", False),
    ("unclosed-refine", "<think>a<refine>b</think><answer>4</answer>", "refine", False),
    ("stray-refine-close", "<think>a</refine>b</think><answer>4</answer>", "refine", False),
    ("refine-close-before-open", "<think>a</refine>b<refine></think><answer>4</answer>", "refine", False),
    ("refine-in-answer", "<think>a</think><answer><refine>b</refine>4</answer>", "refine", False),
    ("refine-before-think", "<refine>b</refine><think>a</think><answer>4</answer>", "before <think>", False),
    ("refine-between", "<think>a</think><refine>b</refine><answer>4</answer>", "between", False),
    ("refine-spans-think-close", "<think>a<refine>b</think>c</refine><answer>4</answer>", "between", False),
    ("refine-without-think", "<refine>b</refine><answer>4</answer>", "missing <think>", False),
    ("answer-inside-refine", "<think><refine>b<answer>4</answer></refine></think>", "out of order", False),
]


@pytest.mark.parametrize(
    ("response", "error", "is_refine"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_responses(response: str, error: str, is_refine: bool) -> None:
    parsed = parse_response(response)
    assert not parsed.format_ok
    assert parsed.format_error is not None and error in parsed.format_error
    assert parsed.is_refine is is_refine
    assert parsed.num_refine == (len(parsed.refine_blocks) if is_refine else 0)


def test_refining_response_without_answer_keeps_its_blocks() -> None:
    parsed = parse_response("<think>x<refine>first</refine>y<refine>second</refine></think>")
    assert parsed.is_refine and not parsed.format_ok
    assert [block.text for block in parsed.refine_blocks] == ["first", "second"]
    assert parsed.answer is None


def test_answer_is_reported_for_a_broken_format() -> None:
    parsed = parse_response("Sure! <think>a</think><answer> 42 </answer>")
    assert not parsed.format_ok
    assert parsed.answer == "42"


@pytest.mark.parametrize(
    "response",
    [
        "<think>a<refine></refine>b</think><answer>4</answer>",
        "<think>a<refine>ok</refine><refine> \n</refine></think><answer>4</answer>",
    ],
)
def test_empty_refine_block_is_malformed_or_counts(response: str) -> None:
    default = parse_response(response)
    assert parse_response(response, empty_refine=EmptyRefine.INVALID) == default
    assert (default.format_ok, default.is_refine, default.format_error) == (False, False, "malformed <refine> tags")
    counts = parse_response(response, empty_refine=EmptyRefine.COUNTS)
    assert (counts.format_ok, counts.is_refine, counts.answer) == (True, True, "4")
    assert counts.num_refine == response.count(REFINE_OPEN)


def test_empty_refine_values_are_the_config_strings() -> None:
    # pasr.reward.empty_refine in YAML and the records carry these exact strings.
    assert [mode.value for mode in EmptyRefine] == ["invalid", "counts"]
    assert EmptyRefine("counts") is EmptyRefine.COUNTS


def test_counting_empty_refine_blocks_forgives_nothing_else() -> None:
    # nested, outside think, or holding a structural tag stays malformed even when empty blocks count
    for response in (
        "<think>a<refine><refine></refine></refine></think><answer>4</answer>",
        "<think>a</think><refine></refine><answer>4</answer>",
        "<think>a<refine><answer></refine></think><answer>4</answer>",
    ):
        parsed = parse_response(response, empty_refine=EmptyRefine.COUNTS)
        assert not parsed.format_ok and not parsed.is_refine, response


def test_refine_positions_are_relative_to_the_think_content() -> None:
    # think content: "aaaa<refine>x</refine>aaaa" (26 chars); the block's content starts at offset 12.
    parsed = parse_response("<think>aaaa<refine>x</refine>aaaa</think><answer>1</answer>")
    assert parsed.refine_positions() == pytest.approx([12 / 26])
    assert parse_response("<think>a</think><answer>1</answer>").refine_positions() == []
    assert parse_response("<think>a<refine> </refine></think><answer>1</answer>").refine_positions() == []


# --- prompt tail (chat templates that pre-open <think>) ---------------------------------------------

PREFIX_CASES = [
    # (id, prompt tail, expected prefix)
    ("r1-style", "<｜Assistant｜><think>\n", "<think>\n"),
    ("chatml-open", "<|im_start|>assistant\n<think>", "<think>"),
    ("chatml-open-trailing-ws", "<|im_start|>assistant\n<think>\n\n", "<think>\n\n"),
    ("no-think", "<|im_start|>assistant\n", ""),
    ("closed-empty-think", "<|im_start|>assistant\n<think>\n\n</think>\n\n", ""),
    ("system-prompt-example", "Format: <think> reasoning </think> <answer> x </answer><|im_end|>\nassistant\n", ""),
    # A question that mentions the tag: not a pre-opened block (before the fix this glued the rest of the
    # prompt onto the response, and every correct response then had a duplicated <think>).
    ("tag-in-question", "user\nWhat does <think> do in PASR?<|im_end|>\n<|im_start|>assistant\n", ""),
    ("empty", "", ""),
    # The tail is nothing but the opener (a template whose assistant turn starts with it, sliced short).
    ("tail-is-the-opener", "<think>", "<think>"),
    ("tail-starts-with-the-opener", "<think>\n", "<think>\n"),
]


@pytest.mark.parametrize(("tail", "prefix"), [c[1:] for c in PREFIX_CASES], ids=[c[0] for c in PREFIX_CASES])
def test_open_think_prefix(tail: str, prefix: str) -> None:
    assert open_think_prefix(tail) == prefix


def test_pre_opened_think_is_parsed_with_the_response() -> None:
    response = "2+2=5 <refine>no, 4</refine></think>\n<answer>4</answer>"
    assert not parse_response(response).format_ok  # on its own the think block has no opener
    parsed = parse_response(response, prompt_tail="<|im_start|>assistant\n<think>\n")
    assert parsed.format_ok and parsed.is_refine
    assert parsed.prefix_len == len("<think>\n")
    assert parsed.text == "<think>\n" + response
    block = parsed.refine_blocks[0]
    # Spans index into text; minus prefix_len they index into the generated response.
    assert response[block.span.start - parsed.prefix_len : block.span.end - parsed.prefix_len] == "no, 4"


def test_question_mentioning_think_does_not_break_a_valid_response() -> None:
    tail = "user\nExplain the <think> tag.<|im_end|>\n<|im_start|>assistant\n"
    parsed = parse_response("<think>It marks reasoning.</think><answer>A reasoning block.</answer>", tail)
    assert parsed.format_ok, parsed.format_error
    assert parsed.prefix_len == 0


# --- oracle ---------------------------------------------------------------------------------------


def _inside_think(text: str, position: int) -> bool:
    """The last think tag before ``position`` is an opener (so an unclosed think runs to the end)."""
    last_open, last_close = text.rfind(THINK_OPEN, 0, position), text.rfind(THINK_CLOSE, 0, position)
    return last_open > last_close


def oracle_refines(text: str) -> bool:
    """The spec's is_refine, written independently: refine tags alternate open/close, each pair is
    non-empty, holds no other tag, and sits in a think block; at least one pair."""
    refine_tags = [match for match in TAG_RE.finditer(text) if match.group() in (REFINE_OPEN, REFINE_CLOSE)]
    if not refine_tags or len(refine_tags) % 2:
        return False
    for opener, closer in zip(refine_tags[::2], refine_tags[1::2], strict=True):
        if opener.group() != REFINE_OPEN or closer.group() != REFINE_CLOSE:
            return False
        content = text[opener.end() : closer.start()]
        if not content.strip() or TAG_RE.search(content) or not _inside_think(text, opener.start()):
            return False
    return True


_OUTER = re.compile(r"\s*<think>(.*)</think>\s*<answer>(.*)</answer>\s*", re.DOTALL)


def oracle_format(text: str) -> bool:
    if any(text.count(tag) != 1 for tag in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)):
        return False
    match = _OUTER.fullmatch(text)
    if match is None or not match.group(2).strip():
        return False
    has_refine_tags = REFINE_OPEN in text or REFINE_CLOSE in text
    return not has_refine_tags or oracle_refines(text)


# --- strategies -----------------------------------------------------------------------------------

NEAR_TAGS = ["<Think>", "< think>", "<think >", "think>", "<answer", "</ refine>", "<refine/>", "<thinking>", "</>"]
WHITESPACE = st.text(alphabet=" \t\n\r\u00a0\u3000", max_size=3)
# No "<" or ">" in the free characters, so only the near-miss tags carry them and no concatenation of
# pieces can form a real tag (no filtering needed, which keeps generation fast).
_CHAR = st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="<>")
_NON_BLANK = _CHAR.filter(lambda c: not c.isspace())
FILLER = st.lists(st.one_of(st.text(_CHAR, max_size=6), st.sampled_from(NEAR_TAGS), WHITESPACE), max_size=4).map(
    "".join
)
CONTENT = st.tuples(FILLER, _NON_BLANK, FILLER).map("".join)  # never blank


@dataclass
class Built:
    """A valid response built from parts, with what went into it."""

    text: str
    refine_texts: list[str]
    think: str
    answer: str


@st.composite
def valid_responses(draw: st.DrawFn, min_refine: int = 0) -> Built:
    refine_texts = draw(st.lists(CONTENT, min_size=min_refine, max_size=3))
    think = draw(FILLER) + "".join(f"{REFINE_OPEN}{t}{REFINE_CLOSE}{draw(FILLER)}" for t in refine_texts)
    answer = draw(CONTENT)
    lead, middle, trail = draw(WHITESPACE), draw(WHITESPACE), draw(WHITESPACE)
    text = f"{lead}{THINK_OPEN}{think}{THINK_CLOSE}{middle}{ANSWER_OPEN}{answer}{ANSWER_CLOSE}{trail}"
    return Built(text, refine_texts, think, answer)


def _tag_positions(text: str, names: tuple[str, ...]) -> list[re.Match[str]]:
    return [match for match in TAG_RE.finditer(text) if match.group() in names]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid response after 1-3 random edits: delete / duplicate / insert a tag, insert junk, swap tags,
    blank a refine block."""
    text = draw(valid_responses()).text
    for _ in range(draw(st.integers(1, 3))):
        tags = list(TAG_RE.finditer(text))
        kind = draw(st.sampled_from(["delete", "duplicate", "insert", "junk", "swap", "blank"]))
        refine_opens = [m for m in tags if m.group() == REFINE_OPEN]
        if kind == "blank" and refine_opens:  # empty a refine block (up to its next tag)
            m = draw(st.sampled_from(refine_opens))
            following = TAG_RE.search(text, m.end())
            end = following.start() if following else len(text)
            text = text[: m.end()] + draw(WHITESPACE) + text[end:]
        elif kind == "delete" and tags:
            m = draw(st.sampled_from(tags))
            text = text[: m.start()] + text[m.end() :]
        elif kind == "duplicate" and tags:
            m = draw(st.sampled_from(tags))
            text = text[: m.end()] + m.group() + text[m.end() :]
        elif kind == "swap" and len(tags) >= 2:
            i, j = sorted(draw(st.lists(st.integers(0, len(tags) - 1), min_size=2, max_size=2, unique=True)))
            a, b = tags[i], tags[j]
            text = text[: a.start()] + b.group() + text[a.end() : b.start()] + a.group() + text[b.end() :]
        else:
            at = draw(st.integers(0, len(text)))
            piece = draw(st.sampled_from(TAGS)) if kind == "insert" else draw(st.one_of(WHITESPACE, CONTENT))
            text = text[:at] + piece + text[at:]
    return text


TAG_SOUP = st.lists(st.one_of(st.sampled_from(TAGS), WHITESPACE, FILLER), max_size=14).map("".join)

PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ORACLE = settings(PROPERTY, max_examples=400)


# --- properties -----------------------------------------------------------------------------------


def _check_invariants(text: str, prompt_tail: str = "") -> None:
    parsed = parse_response(text, prompt_tail)
    full = parsed.text
    assert full.endswith(text)
    assert parsed.format_ok == (parsed.format_error is None)
    assert parsed.num_refine == (len(parsed.refine_blocks) if parsed.is_refine else 0)
    if parsed.is_refine:
        assert parsed.refine_blocks
        for block in parsed.refine_blocks:
            assert block.text.strip(), "is_refine with an empty block"
            assert full[block.span.start : block.span.end] == block.text
            assert full[block.span.start - len(REFINE_OPEN) : block.span.start] == REFINE_OPEN
            assert full[block.span.end : block.span.end + len(REFINE_CLOSE)] == REFINE_CLOSE
            assert _inside_think(full, block.span.start), "is_refine with a block outside think"
        positions = parsed.refine_positions()
        assert all(0.0 <= p <= 1.0 for p in positions) and positions == sorted(positions)
    if parsed.format_ok:
        assert parsed.think is not None and parsed.answer
        assert parsed.is_refine == bool(parsed.refine_blocks)
        for block in parsed.refine_blocks:
            assert parsed.think.start <= block.span.start <= block.span.end <= parsed.think.end


@ORACLE
@given(text=st.text(), tail=st.text(max_size=20))
def test_arbitrary_text_never_raises(text: str, tail: str) -> None:
    _check_invariants(text, tail)


@ORACLE
@given(text=st.one_of(TAG_SOUP, mutated()))
def test_parser_agrees_with_the_oracle(text: str) -> None:
    _check_invariants(text)
    parsed = parse_response(text)
    assert parsed.format_ok == oracle_format(text), parsed.format_error
    assert parsed.is_refine == oracle_refines(text)


@PROPERTY
@given(built=valid_responses())
def test_built_responses_are_valid(built: Built) -> None:
    parsed = parse_response(built.text)
    assert parsed.format_ok, parsed.format_error
    assert parsed.is_refine == bool(built.refine_texts)
    assert parsed.num_refine == len(built.refine_texts)
    assert [block.text for block in parsed.refine_blocks] == built.refine_texts
    assert parsed.answer == built.answer.strip()
    assert parsed.think is not None and built.text[parsed.think.start : parsed.think.end] == built.think


@PROPERTY
@given(built=valid_responses(), lead=WHITESPACE, trail=WHITESPACE)
def test_whitespace_at_the_ends_keeps_a_response_valid(built: Built, lead: str, trail: str) -> None:
    before, after = parse_response(built.text), parse_response(lead + built.text + trail)
    assert after.format_ok
    assert (after.is_refine, after.num_refine, after.answer) == (before.is_refine, before.num_refine, before.answer)


@PROPERTY
@given(built=valid_responses(), data=st.data())
def test_removing_a_closing_tag_makes_it_invalid(built: Built, data: st.DataObject) -> None:
    tag = data.draw(st.sampled_from(_tag_positions(built.text, CLOSING)))
    parsed = parse_response(built.text[: tag.start()] + built.text[tag.end() :])
    assert not parsed.format_ok
    if tag.group() == REFINE_CLOSE:
        assert not parsed.is_refine
    if tag.group() == ANSWER_CLOSE:  # the answer is lost, the refinement is not
        assert parsed.is_refine == bool(built.refine_texts)


@PROPERTY
@given(built=valid_responses(), data=st.data())
def test_removing_an_opening_tag_makes_it_invalid(built: Built, data: st.DataObject) -> None:
    tag = data.draw(st.sampled_from(_tag_positions(built.text, OPENING)))
    parsed = parse_response(built.text[: tag.start()] + built.text[tag.end() :])
    assert not parsed.format_ok
    if tag.group() in (REFINE_OPEN, THINK_OPEN) and built.refine_texts:
        assert not parsed.is_refine


@PROPERTY
@given(built=valid_responses(), data=st.data())
def test_a_duplicated_tag_makes_it_invalid(built: Built, data: st.DataObject) -> None:
    tag = data.draw(st.sampled_from(list(TAG_RE.finditer(built.text))))
    parsed = parse_response(built.text[: tag.end()] + tag.group() + built.text[tag.end() :])
    assert not parsed.format_ok
    if tag.group() in (REFINE_OPEN, REFINE_CLOSE):
        assert not parsed.is_refine


@PROPERTY
@given(built=valid_responses(), junk=CONTENT, at_end=st.booleans())
def test_text_outside_the_blocks_costs_the_format_not_the_refinement(built: Built, junk: str, at_end: bool) -> None:
    parsed = parse_response(built.text + junk if at_end else junk + built.text)
    assert not parsed.format_ok
    assert parsed.is_refine == bool(built.refine_texts)


@PROPERTY
@given(built=valid_responses(min_refine=1), blank=WHITESPACE, data=st.data())
def test_emptying_a_refine_block_cancels_refinement(built: Built, blank: str, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(built.refine_texts) - 1))
    opener = _tag_positions(built.text, (REFINE_OPEN,))[index]
    closer = _tag_positions(built.text, (REFINE_CLOSE,))[index]
    parsed = parse_response(built.text[: opener.end()] + blank + built.text[closer.start() :])
    assert not parsed.format_ok
    assert not parsed.is_refine and parsed.num_refine == 0


@PROPERTY
@given(built=valid_responses(min_refine=1))
def test_dropping_the_answer_block_keeps_refinement(built: Built) -> None:
    cut = built.text[: built.text.index(ANSWER_OPEN)]
    parsed = parse_response(cut)
    assert not parsed.format_ok and parsed.answer is None
    assert parsed.is_refine and parsed.num_refine == len(built.refine_texts)


@PROPERTY
@given(built=valid_responses(), gap=WHITESPACE.filter(lambda s: s.strip() == ""))
def test_a_pre_opened_think_parses_like_a_generated_one(built: Built, gap: str) -> None:
    full = built.text.lstrip()
    response = full[len(THINK_OPEN) :]
    tail = f"<|im_start|>assistant\n{THINK_OPEN}{gap}"
    own, pre = parse_response(full), parse_response(response, tail)
    assert pre.prefix_len == len(THINK_OPEN) + len(gap)
    assert (pre.format_ok, pre.is_refine, pre.num_refine, pre.answer) == (
        own.format_ok,
        own.is_refine,
        own.num_refine,
        own.answer,
    )
    assert [b.text for b in pre.refine_blocks] == [b.text for b in own.refine_blocks]


def test_a_response_cut_off_inside_a_second_refine_block_is_not_refining() -> None:
    # Truncated at the token limit after one complete block and an unclosed second: every refine tag must
    # be well-formed for refining, so the finished first block does not earn the bonus on its own.
    parsed = parse_response("<think>a <refine>fix one</refine> b <refine>fix tw")
    assert not parsed.is_refine and parsed.num_refine == 0 and parsed.refine_positions() == []
    assert [block.text for block in parsed.refine_blocks] == ["fix one"]
    assert not parsed.format_ok and parsed.format_error == "missing </think>"


def test_an_unfinished_think_block_still_counts_its_refinement() -> None:
    parsed = parse_response("<think>a <refine>fix</refine> b")  # cut off after a complete block
    assert parsed.is_refine and parsed.num_refine == 1 and not parsed.format_ok


def test_refine_positions_lie_in_the_first_think_block() -> None:
    # Malformed: an empty think block, then a second one that refines. Offsets into the second block are no
    # positions in the first (before the fix: 2.0 and more, or a division by its zero length).
    parsed = parse_response("<think></think><think>ab<refine>x</refine></think><answer>1</answer>")
    assert parsed.is_refine and not parsed.format_ok
    assert parsed.refine_positions() == []
    both = parse_response("<think>a<refine>x</refine>b</think><think><refine>y</refine></think><answer>1</answer>")
    assert both.refine_positions() == pytest.approx([9 / 20])


@pytest.mark.parametrize(
    "value",
    [
        Span(0, 1),
        RefineBlock(Span(0, 1), "x"),
        parse_response("<think>a</think><answer>1</answer>"),
    ],
    ids=["span", "refine-block", "parsed-response"],
)
def test_parse_results_are_immutable_values(value: object) -> None:
    # Parsed responses are cached and shared between the reward, the metrics and the reports.
    first_field = dataclasses.fields(value)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, first_field, getattr(value, first_field))
    assert not hasattr(value, "__dict__")


@pytest.mark.parametrize(
    ("response", "answer"),
    [
        ("<think>a</think><think>b</think><answer> 42 </answer>", "42"),  # duplicated think, one answer block
        ("<answer>7</answer>", "7"),  # no think at all
        ("<think>a</think><think>b</think><answer></answer>", ""),  # an empty block is still the answer block
        ("<think>a</think><answer>1</answer><answer>2</answer>", None),  # two answer blocks: none is the answer
        ("<think>a</think></answer>x<answer>", None),  # closed before opened
    ],
)
def test_the_answer_of_a_broken_tag_sequence(response: str, answer: str | None) -> None:
    # Scored with --score-invalid-format and shown in reports: exactly one closed answer block counts.
    parsed = parse_response(response)
    assert not parsed.format_ok and parsed.answer == answer
