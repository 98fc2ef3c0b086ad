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

"""A tiny Llama and word-level tokenizer built locally (no download), warm-started on PASR-shaped text.

A random model writes the same nonsense for every sample of a prompt, so every response of a group gets
the same reward, GRPO's advantages are all zero and a training step changes nothing. A few seconds of
supervised training on synthetic responses to small addition questions (valid and broken formats, with
and without refine blocks, right and wrong answers) make the model sample all of these behaviours, so
rewards differ inside a group and the whole loop (reward, group bonus, advantage, update, weight sync)
has something to carry.

The tokenizer is word-level with a ChatML template; PASR's tags are ordinary tokens, as in Qwen's
tokenizers, so ``decode(skip_special_tokens=True)`` keeps them. The model type is Llama: verl's token
handling expects a Qwen tokenizer's real newline token for Qwen models.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recipe.pasr.tasks import PASR_SYSTEM_PROMPT, STANDARD_SYSTEM_PROMPT

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<unk>"]
TAG_TOKENS = ["<think>", "</think>", "<refine>", "</refine>", "<answer>", "</answer>"]
MAX_OPERAND = 9  # questions add two numbers in 0..MAX_OPERAND
QUESTION_WORDS = ["What", "is", "+", "?", "=", "so", "wait", "the", "answer", "check", "again", "hmm"]
NUMBERS = [str(number) for number in range(2 * MAX_OPERAND + 3)]
ADDITION_WARM_START_LR = 3e-3


def default_vocabulary() -> list[str]:
    """Every word of both system prompts, the question words and the numbers (no <unk> in prompts)."""
    prompt_words = (PASR_SYSTEM_PROMPT + " " + STANDARD_SYSTEM_PROMPT).split()
    return list(dict.fromkeys([*TAG_TOKENS, "system", "user", "assistant", *QUESTION_WORDS, *NUMBERS, *prompt_words]))


def build_tokenizer(directory: str | Path, words: Iterable[str] | None = None) -> Any:
    """Write a word-level tokenizer with a ChatML template to ``directory``; return it loaded."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocabulary = [*SPECIAL_TOKENS, *dict.fromkeys(token for token in (words or default_vocabulary()))]
    vocab = {token: index for index, token in enumerate(dict.fromkeys(vocabulary))}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return _save_chatml_tokenizer(backend, directory)


def build_bpe_tokenizer(directory: str | Path, texts: Iterable[str], vocab_size: int = 4000) -> Any:
    """A byte-level BPE tokenizer trained on ``texts`` (seconds), with the ChatML template; unlike the
    word-level one, any string (a random hex nonce, say) tokenizes to distinct, faithful tokens."""
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(list(texts), vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS)
    return _save_chatml_tokenizer(trainer._tokenizer, directory)


def _save_chatml_tokenizer(backend: Any, directory: str | Path) -> Any:
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.save_pretrained(directory)
    return AutoTokenizer.from_pretrained(directory)


@dataclass(frozen=True)
class TinyLlamaSize:
    hidden_size: int = 128
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 2  # head size 64: one that vLLM's CPU attention supports
    max_position_embeddings: int = 512


def llama_config(tokenizer: Any, size: TinyLlamaSize = TinyLlamaSize()) -> dict[str, Any]:
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": len(tokenizer),
        "hidden_size": size.hidden_size,
        "intermediate_size": size.intermediate_size,
        "num_hidden_layers": size.num_hidden_layers,
        "num_attention_heads": size.num_attention_heads,
        "num_key_value_heads": size.num_attention_heads,
        "max_position_embeddings": size.max_position_embeddings,
        "bos_token_id": tokenizer.convert_tokens_to_ids("<|im_start|>"),
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
    }


def build_model_dir(
    directory: str | Path,
    *,
    words: Iterable[str] | None = None,
    size: TinyLlamaSize = TinyLlamaSize(),
    with_weights: bool = True,
    seed: int = 0,
) -> Path:
    """A model directory: word-level tokenizer, Llama config and random weights (unless
    ``with_weights=False``: verl reads only ``config.json`` and the tokenizer on some paths)."""
    return write_model(directory, build_tokenizer(directory, words), size, with_weights=with_weights, seed=seed)


def write_model(
    directory: str | Path, tokenizer: Any, size: TinyLlamaSize, *, with_weights: bool = True, seed: int = 0
) -> Path:
    """Write a random Llama of ``size`` for ``tokenizer`` (already saved in ``directory``)."""
    directory = Path(directory)
    config = llama_config(tokenizer, size)
    if with_weights:
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        torch.manual_seed(seed)
        LlamaForCausalLM(LlamaConfig(**config)).save_pretrained(directory)
    else:
        (directory / "config.json").write_text(json.dumps(config))
    return directory


# --- synthetic PASR-shaped responses ------------------------------------------------------------------


def addition_question(left: int, right: int) -> str:
    return f"What is {left} + {right} ?"


def addition_ground_truth(left: int, right: int) -> str:
    return f"{left} + {right} = {left + right} #### {left + right}"  # GSM8K's reference shape


def synthetic_response(left: int, right: int, rng: random.Random) -> str:
    """One response in a random behaviour: valid or broken format, refining or not, right or wrong."""
    right_sum = left + right
    wrong_sum = (right_sum + rng.choice([-2, -1, 1, 2])) % (2 * MAX_OPERAND + 1)
    first, final = rng.choice([(right_sum, right_sum), (wrong_sum, wrong_sum), (wrong_sum, right_sum)])
    work = f"{left} + {right} = {first}"
    if rng.random() < 0.5:  # refine: check again, keep or fix the result
        final = rng.choice([right_sum, final])
        work += f" <refine> wait check again {left} + {right} = {final} </refine> so the answer is {final}"
    response = f"<think> {work} </think> <answer> {final} </answer>"
    broken = rng.random()
    if broken < 0.15:
        response = response.replace(" </think>", "", 1)  # unclosed think: invalid format
    elif broken < 0.25:
        response = f"{response} hmm"  # text after the answer: invalid format
    return response


def addition_example(rng: random.Random) -> tuple[str, str]:
    """A random addition question and a synthetic response to it (the smoke run's warm-start data)."""
    left, right = rng.randint(0, MAX_OPERAND), rng.randint(0, MAX_OPERAND)
    return addition_question(left, right), synthetic_response(left, right, rng)


Example = Callable[[random.Random], tuple[str, str]]


def warm_start(
    model_dir: str | Path,
    *,
    steps: int = 300,
    batch_size: int = 16,
    lr: float = ADDITION_WARM_START_LR,
    seed: int = 0,
    examples: Example = addition_example,
) -> dict[str, float]:
    """``steps`` of supervised training on synthetic PASR responses (``examples``: question, response) to
    chat-templated prompts (about 25 s on 2 cores for 300); saves the model in place and returns ``{"steps",
    "loss_first", "loss_last", "seconds"}``. A fixed step count, not a time budget, so the model is the same
    on any machine."""
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    from recipe.pasr.tasks import pasr_messages

    model_dir = Path(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = LlamaForCausalLM.from_pretrained(model_dir)
    model.train()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    start = time.monotonic()
    losses: list[float] = []
    for _ in range(steps):
        inputs, labels = _batch(tokenizer, rng, batch_size, pasr_messages, examples)
        loss = model(input_ids=inputs, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.save_pretrained(model_dir)
    seconds = time.monotonic() - start
    return {"steps": float(steps), "loss_first": losses[0], "loss_last": losses[-1], "seconds": seconds}


def _batch(tokenizer: Any, rng: random.Random, size: int, messages: Any, examples: Example) -> tuple[Any, Any]:
    """Prompt + response + end-of-turn, left-aligned and padded; loss on the response tokens only."""
    import torch

    rows: list[tuple[list[int], list[int]]] = []
    for _ in range(size):
        question, response = examples(rng)
        prompt = tokenizer.apply_chat_template(messages(question), add_generation_prompt=True, tokenize=False)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
        rows.append((prompt_ids, [*response_ids, tokenizer.eos_token_id]))
    width = max(len(prompt) + len(response) for prompt, response in rows)
    inputs = torch.full((size, width), tokenizer.pad_token_id)
    labels = torch.full((size, width), -100)
    for row, (prompt, response) in enumerate(rows):
        sequence = torch.tensor(prompt + response)
        inputs[row, : len(sequence)] = sequence
        labels[row, len(prompt) : len(sequence)] = torch.tensor(response)
    return inputs, labels


def addition_records(count: int, seed: int) -> Sequence[tuple[int, int]]:
    rng = random.Random(seed)
    return [(rng.randint(0, MAX_OPERAND), rng.randint(0, MAX_OPERAND)) for _ in range(count)]
