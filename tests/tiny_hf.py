"""Tiny Hugging Face tokenizer and model built locally, for CPU tests without any download.

The tokenizer is a word-level vocabulary with a ChatML chat template; PASR's tags are ordinary
(non-special) tokens, as in real Qwen tokenizers, so ``decode(skip_special_tokens=True)`` keeps
them. The model is a randomly initialised 1-layer Llama: it generates nonsense, deterministically
under greedy decoding, which is all the pipeline tests need.
"""

from __future__ import annotations

import json
from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<unk>"]
TAG_TOKENS = ["<think>", "</think>", "<refine>", "</refine>", "<answer>", "</answer>"]
WORDS = [
    "system", "user", "assistant", "the", "answer", "is", "so", "wait", "check", "again", "fix",
    "a", "b", "c", "d", "e", "A", "B", "C", "D", "E", "Option", "yes", "no", "=", "+", "-", ".", ",", ":", "?",
    *[str(digit) for digit in range(10)], "12", "18", "42", "72",
]  # fmt: skip


def build_tiny_tokenizer(directory: str | Path):
    """Write a tokenizer to ``directory`` and return it loaded with ``AutoTokenizer``."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = {token: index for index, token in enumerate([*SPECIAL_TOKENS, *TAG_TOKENS, *WORDS])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
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


def build_tiny_model_dir(directory: str | Path, *, with_weights: bool = True) -> Path:
    """A model directory (tokenizer + Llama config, and random weights unless ``with_weights=False``).

    verl only reads ``config.json`` and the tokenizer on the CPU paths we test, so tests of the verl
    glue can skip the weights.
    """
    directory = Path(directory)
    tokenizer = build_tiny_tokenizer(directory)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": len(tokenizer),
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "max_position_embeddings": 512,
        "bos_token_id": tokenizer.convert_tokens_to_ids("<|im_start|>"),
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
    }
    if with_weights:
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        torch.manual_seed(0)
        LlamaForCausalLM(LlamaConfig(**config)).save_pretrained(directory)
    else:
        (directory / "config.json").write_text(json.dumps(config))
    return directory
