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

"""The tests' tiny tokenizer and model: ``recipe.pasr.cpu.tiny_model`` with a small fixed vocabulary
and a 1-layer, 16-wide Llama. It generates nonsense, deterministically under greedy decoding, which is
all the pipeline tests need; token ids are stable (the scripted fakes refer to them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recipe.pasr.cpu.tiny_model import TAG_TOKENS, TinyLlamaSize, build_model_dir, build_tokenizer

WORDS = [
    *TAG_TOKENS,
    "system", "user", "assistant", "the", "answer", "is", "so", "wait", "check", "again", "fix",
    "a", "b", "c", "d", "e", "A", "B", "C", "D", "E", "Option", "yes", "no", "=", "+", "-", ".", ",", ":", "?",
    *[str(digit) for digit in range(10)], "12", "18", "42", "72",
]  # fmt: skip
SIZE = TinyLlamaSize(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)


def build_tiny_tokenizer(directory: str | Path) -> Any:
    return build_tokenizer(directory, WORDS)


def build_tiny_model_dir(directory: str | Path, *, with_weights: bool = True) -> Path:
    return build_model_dir(directory, words=WORDS, size=SIZE, with_weights=with_weights)


def one_response(prompt: list[int], response: list[int], **fields: Any) -> Any:
    """A one-row ``DataProto`` as verl's reward loop receives it: the token ids and the non-tensor fields."""
    import numpy as np
    import torch
    from verl import DataProto

    ids = torch.tensor([prompt + response])
    return DataProto.from_dict(
        tensors={
            "prompts": torch.tensor([prompt]),
            "responses": torch.tensor([response]),
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
        },
        non_tensors={key: np.array([value], dtype=object) for key, value in fields.items()},
    )
