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

"""Chat-template helpers shared by data preparation (prompt budgets, the think-block check) and the
evaluation backends, so both render a conversation exactly as verl's agent loop does.

Only the tokenizer object is needed; no backend or model is imported here.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from typing import Any

from recipe.pasr.response import THINK_CLOSE

Messages = list[dict[str, str]]

PROMPT_TAIL_CHARS = 64  # enough to see whether the template ends with an opened <think>


def parse_chat_template_kwargs(text: str) -> dict[str, Any]:
    """``--chat-template-kwargs`` (an argparse type): a JSON object such as ``{"enable_thinking": true}``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r} ({exc.msg})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def render_prompts(
    tokenizer: Any, conversations: Sequence[Messages | str], chat_template_kwargs: Mapping[str, Any]
) -> list[str]:
    """Generation prompts as text, through the tokenizer's chat template (as verl's agent loop does); a raw
    prompt (a string) is used as it is."""
    return [
        messages
        if isinstance(messages, str)
        else tokenizer.apply_chat_template(
            list(messages), add_generation_prompt=True, tokenize=False, **chat_template_kwargs
        )
        for messages in conversations
    ]


def closed_think_warning(prompt: str) -> str | None:
    """A warning when a generation prompt ends after a closed think block, as Qwen3's template does with
    thinking off: PASR then has no open think block to reason and refine in."""
    if THINK_CLOSE not in prompt[-PROMPT_TAIL_CHARS:]:
        return None
    return (
        "the chat template closes a think block in the generation prompt (Qwen3 with thinking off?); "
        "PASR reasons inside <think>: for Qwen3 pass --chat-template-kwargs '{\"enable_thinking\": true}'"
    )


def prompt_token_ids(tokenizer: Any, prompts: Sequence[str], add_special_tokens: bool = False) -> list[list[int]]:
    """Token ids of prompts; a rendered template already holds any BOS, so by default none is added."""
    return list(tokenizer(list(prompts), add_special_tokens=add_special_tokens)["input_ids"])
