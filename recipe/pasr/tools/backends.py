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

"""Generation backends for evaluation: vLLM offline engine, an OpenAI-compatible server, HF transformers.

All three take chat conversations, or raw text prompts sent without any chat template (the paper's
evaluation protocol), and return :class:`Generation` (decoded text without special tokens, as verl
decodes rollouts; generated token count; finish reason). The local backends render conversations
with the model's own chat template (:func:`recipe.pasr.chat_template.render_prompts`, the same rendering the data
preparation measures prompt budgets with) and report the rendered prompt's tail, so a template that pre-opens
``<think>`` is still parsed as one think block (:func:`recipe.pasr.response.parse_response`).

Heavy imports (torch, transformers, vllm) happen inside the backend that needs them.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from recipe.pasr.chat_template import PROMPT_TAIL_CHARS, Messages, prompt_token_ids, render_prompts


@dataclass(frozen=True, slots=True)
class Sampling:
    """Decoding settings; the defaults are the paper's evaluation protocol (greedy, 1500 new tokens)."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 1500

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


@dataclass(frozen=True, slots=True)
class GenRequest:
    messages: Messages | str  # a conversation (chat template applied), or a raw prompt used as it is
    seed: int  # used only when sampling; derived from the record so a resumed run draws the same


@dataclass(frozen=True, slots=True)
class Generation:
    text: str
    num_tokens: int
    finish_reason: str  # "stop" or "length" (truncated at max_new_tokens)
    prompt_tail: str = ""


class Backend(Protocol):
    async def generate(self, requests: Sequence[GenRequest], sampling: Sampling) -> list[Generation]: ...

    async def aclose(self) -> None: ...


class GenerationError(RuntimeError):
    """The backend could not produce a generation (the run stops; finished records are kept)."""


def _all_raw(requests: Sequence[GenRequest]) -> bool:
    """Whether a batch holds raw prompts (True) or conversations (False); a mix is a caller bug."""
    kinds = {isinstance(request.messages, str) for request in requests}
    if len(kinds) > 1:
        raise ValueError("a generation batch mixes raw prompts and conversations")
    return kinds == {True}


# --- Hugging Face transformers ---------------------------------------------------------------------


class HFBackend:
    """``transformers`` generate, batched with left padding. CPU-capable; for small models and tests.

    Sampling is seeded per batch (from its first request), so sampled outputs depend on batching;
    greedy outputs do not.
    """

    def __init__(self, model: str, *, dtype: str = "auto", chat_template_kwargs: Mapping[str, Any] | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model = AutoModelForCausalLM.from_pretrained(model, dtype=dtype).to(device).eval()
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        eos = self.model.generation_config.eos_token_id
        eos = eos if eos is not None else self.tokenizer.eos_token_id
        self._eos = set(eos if isinstance(eos, list) else [eos])

    async def generate(self, requests: Sequence[GenRequest], sampling: Sampling) -> list[Generation]:
        torch = self._torch
        prompts = render_prompts(self.tokenizer, [r.messages for r in requests], self.chat_template_kwargs)
        raw = _all_raw(requests)  # a raw prompt gets the tokenizer's BOS, as vLLM gives a text prompt
        batch = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=raw)
        batch = batch.to(self.model.device)
        config = copy.deepcopy(self.model.generation_config)  # keeps the model's EOS ids
        config.update(max_new_tokens=sampling.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id, top_k=None)
        if sampling.greedy:
            config.update(do_sample=False, temperature=None, top_p=None)
        else:
            config.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
            torch.manual_seed(requests[0].seed)
        with torch.inference_mode():
            output = self.model.generate(**batch, generation_config=config)
        new_tokens = output[:, batch["input_ids"].shape[1] :].tolist()
        return [self._finish(ids, prompt) for ids, prompt in zip(new_tokens, prompts, strict=True)]

    def _finish(self, ids: list[int], prompt: str) -> Generation:
        stop = next((i for i, token in enumerate(ids) if token in self._eos), None)
        kept = ids if stop is None else ids[: stop + 1]  # the EOS counts as generated; the padding after it not
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        return Generation(text, len(kept), "length" if stop is None else "stop", prompt[-PROMPT_TAIL_CHARS:])

    async def aclose(self) -> None:
        return None


# --- vLLM offline engine ---------------------------------------------------------------------------


class VLLMBackend:
    """vLLM's offline ``LLM`` engine (GPU). Prompts go in as token ids rendered by the model's template.

    Sampling is seeded per request, so sampled outputs do not depend on batching.
    """

    def __init__(
        self,
        model: str,
        *,
        dtype: str = "auto",
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        seed: int = 0,
        chat_template_kwargs: Mapping[str, Any] | None = None,
    ):
        from vllm import LLM

        self.llm = LLM(
            model=model,
            dtype=dtype,
            tensor_parallel_size=tensor_parallel_size,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            seed=seed,
        )
        self.tokenizer = self.llm.get_tokenizer()
        self.chat_template_kwargs = dict(chat_template_kwargs or {})

    async def generate(self, requests: Sequence[GenRequest], sampling: Sampling) -> list[Generation]:
        from vllm import SamplingParams

        prompts = render_prompts(self.tokenizer, [r.messages for r in requests], self.chat_template_kwargs)
        ids = prompt_token_ids(self.tokenizer, prompts, add_special_tokens=_all_raw(requests))
        inputs = [{"prompt_token_ids": prompt} for prompt in ids]
        params = [
            SamplingParams(
                temperature=max(sampling.temperature, 0.0),
                top_p=1.0 if sampling.greedy else sampling.top_p,
                max_tokens=sampling.max_new_tokens,
                seed=None if sampling.greedy else request.seed,
            )
            for request in requests
        ]
        outputs = self.llm.generate(inputs, params, use_tqdm=False)
        return [
            Generation(
                out.outputs[0].text,
                len(out.outputs[0].token_ids),
                "length" if out.outputs[0].finish_reason == "length" else "stop",
                prompt[-PROMPT_TAIL_CHARS:],
            )
            for out, prompt in zip(outputs, prompts, strict=True)
        ]

    async def aclose(self) -> None:
        return None


# --- OpenAI-compatible server ----------------------------------------------------------------------

_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAIBackend:
    """Any OpenAI-compatible ``/chat/completions`` server (vLLM, SGLang, a hosted API); raw prompts go to
    ``/completions``, which applies no template.

    The server renders the chat template, so the prompt tail is unknown (empty): serve models whose
    template pre-opens ``<think>`` with a reasoning parser, whose split-off reasoning is put back
    into a think block here. ``chat_template_kwargs`` travel in the request body (vLLM and SGLang
    read them). Transient failures (connection errors, 408/409/429/5xx) are retried with backoff;
    anything else raises :class:`GenerationError`.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = "OPENAI_API_KEY",
        concurrency: int = 32,
        timeout_s: float = 600.0,
        max_retries: int = 4,
        chat_template_kwargs: Mapping[str, Any] | None = None,
    ):
        self.endpoint = base_url.rstrip("/") + "/chat/completions"
        self.raw_endpoint = base_url.rstrip("/") + "/completions"
        self.model = model
        key = os.environ.get(api_key_env, "") if api_key_env else ""
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self._session: Any = None
        self._semaphore: asyncio.Semaphore | None = None

    async def generate(self, requests: Sequence[GenRequest], sampling: Sampling) -> list[Generation]:
        import aiohttp

        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.concurrency)
            timeout = aiohttp.ClientTimeout(total=self.timeout_s)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, headers=self._headers)
            self._semaphore = asyncio.Semaphore(self.concurrency)
        return list(await asyncio.gather(*(self._one(request, sampling) for request in requests)))

    def _body(self, request: GenRequest, sampling: Sampling) -> dict[str, Any]:
        prompt = {"prompt": request.messages} if isinstance(request.messages, str) else {"messages": request.messages}
        body: dict[str, Any] = {
            "model": self.model,
            **prompt,
            "max_tokens": sampling.max_new_tokens,
            "temperature": max(sampling.temperature, 0.0),
            "top_p": 1.0 if sampling.greedy else sampling.top_p,
        }
        if not sampling.greedy:
            body["seed"] = request.seed
        if self.chat_template_kwargs and "messages" in body:
            body["chat_template_kwargs"] = self.chat_template_kwargs
        return body

    async def _one(self, request: GenRequest, sampling: Sampling) -> Generation:
        import aiohttp

        from recipe.pasr.scoring.judge import TIMEOUT_ERRORS

        assert self._semaphore is not None
        body = self._body(request, sampling)
        raw = "prompt" in body
        endpoint = self.raw_endpoint if raw else self.endpoint
        for attempt in range(self.max_retries + 1):
            try:
                async with self._semaphore, self._session.post(endpoint, json=body) as response:
                    payload = await response.read()
                    status = response.status
            except (aiohttp.ClientError, *TIMEOUT_ERRORS) as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                if status == 200:
                    return _parse_completion(payload, raw)
                error = f"HTTP {status}: {payload[:300].decode('utf-8', 'replace')}"
                if status not in _RETRY_STATUSES:
                    break
            if attempt < self.max_retries:
                await asyncio.sleep(min(8.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0))
        raise GenerationError(f"generation request to {endpoint} failed: {error}")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _parse_completion(payload: bytes, raw: bool = False) -> Generation:
    """A chat completion (``choices[0].message``) or, for a raw prompt, a text completion (``choices[0].text``)."""
    field = "text" if raw else "message"
    try:
        data = json.loads(payload)
        choice = data["choices"][0]
        message = {"content": choice["text"]} if raw else choice["message"]
        tokens = int(data["usage"]["completion_tokens"])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise GenerationError(
            f"malformed completion ({type(exc).__name__}: {exc}); the server must return choices[0].{field} "
            f"and usage.completion_tokens: {payload[:300].decode('utf-8', 'replace')}"
        ) from None
    text = message.get("content") or ""
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning:  # a server-side reasoning parser split the think block off: put it back
        text = f"<think>{reasoning}</think>{text}"
    finish = "length" if choice.get("finish_reason") == "length" else "stop"
    return Generation(text, tokens, finish)
