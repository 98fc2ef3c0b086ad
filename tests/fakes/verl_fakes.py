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

"""A loopback stand-in for verl's LLM server client, for driving verl's agent loop on CPU.

verl's agent loop calls ``await llm_client.generate(request_id, prompt_ids=..., sampling_params=...)``
and reads a ``TokenOutput``. This fake answers from a script: the prompt is identified by the first
script key token found in it, the prompt kind (PASR or standard) by whether the system prompt mentions
``<think>``, and the k-th request for that prompt gets the k-th scripted response. The script lives in a
Ray actor (``ScriptBoard``), not in the client: the client is pickled into agent-loop worker processes,
which take tens of seconds to start, so tests keep the workers and swap the script. The client must live
in an importable module (tests put the repo root on the workers' path).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import ray
from verl.workers.rollout.replica import TokenOutput

Script = dict[tuple[int, str], list[list[int]]]


@ray.remote
class ScriptBoard:
    """The current script, its per-prompt delays and how many requests each scripted prompt has had."""

    def __init__(self) -> None:
        self.set_script({}, {})

    def set_script(self, script: Script, delays: dict[tuple[int, str], float]) -> None:
        self.script = script
        self.delays = delays
        self.calls: dict[tuple[int, str], int] = defaultdict(int)

    def next_response(self, prompt_ids: list[int], kind: str) -> tuple[list[int], float]:
        key = next(((token, kind) for token in prompt_ids if (token, kind) in self.script), None)
        if key is None:
            raise KeyError(f"no scripted response for a {kind} prompt: {prompt_ids}")
        responses = self.script[key]
        token_ids = responses[self.calls[key] % len(responses)]
        self.calls[key] += 1
        return token_ids, self.delays.get(key, 0.0)


class ScriptedLLMClient:
    def __init__(self, board: ray.actor.ActorHandle, think_token_id: int) -> None:
        self.board = board
        self.think_token_id = think_token_id

    async def generate(self, request_id: str, *, prompt_ids: list[int], sampling_params: dict, **_: Any) -> TokenOutput:
        kind = "pasr" if self.think_token_id in prompt_ids else "standard"
        token_ids, delay = await self.board.next_response.remote(list(prompt_ids), kind)
        await asyncio.sleep(delay)  # a slow prompt, to show groups are released one by one
        return TokenOutput(token_ids=list(token_ids), log_probs=[0.0] * len(token_ids), num_preempted=0)
