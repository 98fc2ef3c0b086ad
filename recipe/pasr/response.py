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

"""Response structure: PASR tags → spans.

A PASR response is ``<think> ... <refine> ... </refine> ... </think> <answer> ... </answer>``.
This module turns a decoded response into spans and two verdicts:

* ``format_ok``: the whole structure is valid (one think block, then one non-empty answer block,
  only whitespace around and between them; refine blocks balanced, not nested, non-empty, inside
  think; no stray or duplicated tag anywhere).
* ``is_refine``: the response refined. It needs at least one refine block and *every* refine tag
  well-formed (balanced, not nested, non-empty unless ``empty_refine`` is ``counts``, inside a think
  region). It deliberately ignores the
  rest of the format, as the paper does: a response that refined and then lost its answer block
  pays through the format and accuracy rewards, not by losing its refinement status.

Pure Python, no verl import, never raises on any string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recipe.pasr.enums import StrEnum

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
REFINE_OPEN, REFINE_CLOSE = "<refine>", "</refine>"

_TAG = re.compile(r"</?(?:think|answer|refine)>")


class EmptyRefine(StrEnum):
    """What an empty ``<refine></refine>`` block (whitespace only) is."""

    # Malformed: format invalid and not refining. Emitting the tags costs nothing, so an empty block
    # must not earn the refinement bonus.
    INVALID = "invalid"
    # A well-formed refine block, as the authors' code counted it (a refinement that changes nothing).
    COUNTS = "counts"


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open character range ``[start, end)`` into :attr:`ParsedResponse.text`."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class RefineBlock:
    """One ``<refine>`` block: ``span`` covers the content between the tags."""

    span: Span
    text: str


@dataclass(frozen=True, slots=True)
class ParsedResponse:
    """What :func:`parse_response` found. Spans index into ``text``.

    ``text`` is the response with the pre-opened part of the prompt (if any) in front; subtract
    ``prefix_len`` from a span to get an offset into the response the model generated.
    """

    text: str
    prefix_len: int
    format_ok: bool
    format_error: str | None
    think: Span | None
    answer_span: Span | None
    refine_blocks: tuple[RefineBlock, ...]
    refine_ok: bool

    @property
    def answer(self) -> str | None:
        """The stripped answer text, or None when there is no (closed) answer block."""
        if self.answer_span is None:
            return None
        return self.text[self.answer_span.start : self.answer_span.end].strip()

    @property
    def num_refine(self) -> int:
        return len(self.refine_blocks) if self.refine_ok else 0

    @property
    def is_refine(self) -> bool:
        return self.refine_ok and bool(self.refine_blocks)

    def refine_positions(self) -> list[float]:
        """Relative position (0..1) of each refine block's start within the think content.

        Only blocks of the (first) think block have one: a malformed response with a second think
        block may refine there, and an offset past this block's end is no position in it.
        """
        if not self.is_refine or self.think is None:
            return []
        start, end = self.think.start, self.think.end  # a block inside makes end > start
        return [(block.span.start - start) / (end - start) for block in self.refine_blocks if block.span.start < end]


def open_think_prefix(prompt_tail: str) -> str:
    """The part of a generation prompt that belongs to the response.

    Some chat templates (DeepSeek-R1 style, Qwen3 thinking variants) end the prompt with an opened
    ``<think>``; the model then generates only the rest of the think block. When the tail *ends* with
    an opened ``<think>`` (only whitespace after it), return it and that whitespace, so parsing sees
    the whole block.

    A ``<think>`` followed by anything else is not a pre-opened block: it is text of the prompt (a
    question about the tag, an example in the system prompt), and must not be glued onto the response.
    """
    opened = prompt_tail.rfind(THINK_OPEN)
    if opened < 0 or prompt_tail[opened + len(THINK_OPEN) :].strip():
        return ""
    return prompt_tail[opened:]


def parse_response(
    response: str, prompt_tail: str = "", empty_refine: EmptyRefine = EmptyRefine.INVALID
) -> ParsedResponse:
    """Parse a decoded response (see module docstring for the rules)."""
    prefix = open_think_prefix(prompt_tail) if prompt_tail else ""
    text = prefix + response
    tags = [(match.group(), match.start(), match.end()) for match in _TAG.finditer(text)]
    think_regions = _think_regions(tags, len(text))
    blocks, refine_ok = _refine_blocks(text, tags, think_regions, allow_empty=empty_refine is EmptyRefine.COUNTS)
    think, answer_span, error = _outer_structure(text, tags)
    if error is None and not refine_ok:
        error = "malformed <refine> tags"
    return ParsedResponse(
        text=text,
        prefix_len=len(prefix),
        format_ok=error is None,
        format_error=error,
        think=think,
        answer_span=answer_span,
        refine_blocks=blocks,
        refine_ok=refine_ok,
    )


def _think_regions(tags: list[tuple[str, int, int]], text_len: int) -> list[Span]:
    """Content ranges of think blocks, pairing each opener with the next closer.

    An opener with no closer (a truncated response) runs to the end of the text: refinement
    inside an unfinished think block is still refinement.
    """
    regions: list[Span] = []
    start: int | None = None
    for tag, tag_start, tag_end in tags:
        if tag == THINK_OPEN and start is None:
            start = tag_end
        elif tag == THINK_CLOSE and start is not None:
            regions.append(Span(start, tag_start))
            start = None
    if start is not None:
        regions.append(Span(start, text_len))
    return regions


def _refine_blocks(
    text: str, tags: list[tuple[str, int, int]], think_regions: list[Span], allow_empty: bool
) -> tuple[tuple[RefineBlock, ...], bool]:
    """All refine blocks, and whether every refine tag is well-formed."""
    blocks: list[RefineBlock] = []
    opened_at: int | None = None
    ok = True
    for tag, tag_start, tag_end in tags:
        if tag == REFINE_OPEN:
            if opened_at is not None or not _inside(think_regions, tag_start, tag_end):
                ok = False  # nested, or outside think
            opened_at = tag_end
        elif tag == REFINE_CLOSE:
            if opened_at is None or not _inside(think_regions, tag_start, tag_end):
                ok = False
            else:
                content = text[opened_at:tag_start]
                if not content.strip() and not allow_empty:
                    ok = False  # an empty block would earn the bonus without refining
                blocks.append(RefineBlock(Span(opened_at, tag_start), content))
            opened_at = None
        elif opened_at is not None and tag in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE):
            ok = False  # a structural tag inside a refine block
    if opened_at is not None:
        ok = False  # unclosed
    return tuple(blocks), ok


def _inside(regions: list[Span], start: int, end: int) -> bool:
    return any(region.start <= start and end <= region.end for region in regions)


def _outer_structure(text: str, tags: list[tuple[str, int, int]]) -> tuple[Span | None, Span | None, str | None]:
    """Check ``ws <think>...</think> ws <answer>...</answer> ws``; refine tags are checked elsewhere."""
    outer = [(tag, start, end) for tag, start, end in tags if tag not in (REFINE_OPEN, REFINE_CLOSE)]
    names = [tag for tag, _, _ in outer]
    think = Span(outer[0][2], outer[1][1]) if names[:2] == [THINK_OPEN, THINK_CLOSE] else None
    if names != [THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE]:
        return think, _lenient_answer(outer), _describe_tag_error(names)
    think_open, think_close, answer_open, answer_close = outer
    answer = Span(answer_open[2], answer_close[1])
    if text[: think_open[1]].strip():
        return think, answer, "text before <think>"
    if text[think_close[2] : answer_open[1]].strip():
        return think, answer, "text between </think> and <answer>"
    if text[answer_close[2] :].strip():
        return think, answer, "text after </answer>"
    if not text[answer.start : answer.end].strip():
        return think, answer, "empty answer block"
    return think, answer, None


def _lenient_answer(outer: list[tuple[str, int, int]]) -> Span | None:
    """The answer span when exactly one closed answer block exists, even if the format is broken.

    Used for reporting only (what the model answered); an invalid format still scores -1.
    """
    opens = [item for item in outer if item[0] == ANSWER_OPEN]
    closes = [item for item in outer if item[0] == ANSWER_CLOSE]
    if len(opens) == 1 and len(closes) == 1 and opens[0][2] <= closes[0][1]:
        return Span(opens[0][2], closes[0][1])
    return None


def _describe_tag_error(names: list[str]) -> str:
    for tag in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE):
        count = names.count(tag)
        if count == 0:
            return f"missing {tag}"
        if count > 1:
            return f"duplicated {tag}"
    return "tags out of order"
