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

"""The judge served by verl itself (``pasr.judge_backend=verl``), up to the GPU boundary.

verl serves a generative reward model behind its own ``NaiveRouter`` and hands the router's address to
the reward manager. Here the model server is the loopback fake judge and the router is verl's real
``run_router`` on 127.0.0.1; the reward manager must discover the served model name through the router
and judge through it.
"""

from __future__ import annotations

import json
import multiprocessing
import socket
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from transformers import AutoTokenizer
from verl.experimental.reward_loop.router.naive_router import run_router

from recipe.pasr.verl.reward_manager import PasrRewardManager
from tests.fakes.judge_server import FakeReply, serve_in_thread
from tests.fakes.tiny_hf import build_tiny_model_dir, one_response

SERVED_NAME = "/models/judge-local-copy"  # verl's vLLM server answers to the model's local path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"router did not listen on 127.0.0.1:{port}")


def judge(request):
    if request.path.endswith("/models"):
        return FakeReply(body=json.dumps({"object": "list", "data": [{"id": SERVED_NAME}]}).encode())
    assert request.json()["model"] == SERVED_NAME
    return FakeReply(content="1")


def test_verl_served_judge_is_reached_through_verls_router(tmp_path: Path):
    model_dir = build_tiny_model_dir(tmp_path / "model", with_weights=False)
    with serve_in_thread(judge) as server:
        port = free_port()
        router = multiprocessing.get_context("spawn").Process(
            target=run_router, args=("127.0.0.1", port, [f"http://127.0.0.1:{server.port}"]), daemon=True
        )
        router.start()
        try:
            wait_for_port(port)
            with initialize_config_module("verl.trainer.config", version_base=None):
                config = compose(
                    "ppo_trainer",
                    overrides=[
                        "+recipe=pasr",
                        f"actor_rollout_ref.model.path={model_dir}",
                        "pasr.judge_backend=verl",
                        # verl serves the judge (the driver check requires it; the router stands in for it here)
                        "reward.reward_model.enable=true",
                        "reward.reward_model.enable_resource_pool=true",
                        f"reward.reward_model.model_path={model_dir}",
                    ],
                )
            tokenizer = AutoTokenizer.from_pretrained(model_dir)
            manager = PasrRewardManager(config, tokenizer, reward_router_address=f"127.0.0.1:{port}")
            prompt = tokenizer("what is 12")["input_ids"]
            response = tokenizer("<think> so 12 </think> <answer> 12 </answer>")["input_ids"]
            data = one_response(
                prompt,
                response,
                data_source="drop",  # free-text answers: judged
                reward_model={"ground_truth": "12"},
                extra_info={"question": "what is 12"},
            )
            result = manager.loop.run_until_complete(manager.run_single(data))
        finally:
            router.terminate()
            router.join(timeout=10)
    info = result["reward_extra_info"]
    assert (info["scorer"], info["acc"], info["judge_failed"]) == ("judge", 1.0, False)
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/v1/models"), ("POST", "/v1/chat/completions")]


def test_verl_backend_without_a_served_judge_fails_at_start(tmp_path: Path):
    model_dir = build_tiny_model_dir(tmp_path / "model", with_weights=False)
    with initialize_config_module("verl.trainer.config", version_base=None):
        config = compose(
            "ppo_trainer",
            overrides=["+recipe=pasr", f"actor_rollout_ref.model.path={model_dir}", "pasr.judge_backend=verl"],
        )
    with pytest.raises(ValueError, match=r"reward\.reward_model\.enable=true"):
        PasrRewardManager(config, AutoTokenizer.from_pretrained(model_dir))
