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

"""CPU cost of PASR's per-sample reward against verl 0.9.1's naive reward-loop manager.

Both managers score the same responses through their real ``run_single`` (decode included: each
decodes the response token ids itself, with the same tokenizer): PASR's ``PasrRewardManager`` with
rule-based accuracy (GSM8K) and verl's ``NaiveRewardManager`` with verl's default GSM8K scorer. The
responses are synthetic but shaped like training rollouts: about 1500 tokens (~6 KB), a mix of valid,
invalid and refining PASR responses. Cost is CPU time of this process per response (both managers run
their scorer in the same thread pool), so the ratio does not depend on other load on the machine.

Then the group stage: what the group hook does once all responses of a prompt are in (records ->
``score_group`` -> records, on verl's ``AgentLoopOutput`` objects), per group of n = 8, 16, 64.

Usage: ``python benchmarks/reward_overhead.py [--responses 2000] [--quick]``. The last lines are
``name=value`` figures.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_module
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
from verl import DataProto
from verl.experimental.agent_loop.agent_loop import AgentLoopMetrics, AgentLoopOutput
from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager
from verl.utils.reward_score import default_compute_score

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout, without installing the project
    sys.path.insert(0, str(ROOT))

from recipe.pasr.reward import RewardConfig  # noqa: E402
from recipe.pasr.verl.agent_loop import PromptGroup  # noqa: E402
from recipe.pasr.verl.reward_manager import PasrRewardManager  # noqa: E402
from tests.fakes.tiny_hf import one_response  # noqa: E402

FILLER = ("first", "compute", "the", "total", "then", "subtract", "what", "was", "used", "and", "check", "each", "step")


def synthetic_response(rng: random.Random, tokens: int) -> tuple[str, str]:
    """A ~``tokens``-word PASR-style response and its reference (``#### N``)."""
    answer = rng.randint(1, 500)
    words = [rng.choice(FILLER) for _ in range(tokens - 20)]
    kind = rng.random()
    if kind < 0.4:  # refining
        cut = len(words) // 2
        words[cut:cut] = ["<refine>", "wait", "recheck", "the", "sum", "</refine>"]
    final = str(answer if rng.random() < 0.6 else answer + 1)
    if kind > 0.85:  # invalid: no answer block
        text = "<think> " + " ".join(words) + f" </think> the answer is {final}"
    else:
        text = "<think> " + " ".join(words) + f" </think> <answer> #### {final} </answer>"
    return text, f"#### {answer}"


def build_tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    vocab: dict[str, int] = {"<unk>": 0, "<pad>": 1}
    for text in texts:
        for word in text.split():
            vocab.setdefault(word, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>")


def build_batch(tokenizer, prompt_ids: list[int], text: str, reference: str) -> DataProto:
    """One GSM8K response as verl's reward loop hands it to a reward manager."""
    return one_response(
        prompt_ids,
        tokenizer(text)["input_ids"],
        data_source="openai/gsm8k",
        reward_model={"ground_truth": reference},
        extra_info={"question": "how many"},
    )


def cpu_seconds_per_item(manager, batches: list[DataProto]) -> float:
    async def run_all() -> None:
        for batch in batches:
            await manager.run_single(batch)

    manager.loop.run_until_complete(manager.run_single(batches[0]))  # warm-up (imports, pools)
    start = time.process_time()
    manager.loop.run_until_complete(run_all())
    return (time.process_time() - start) / len(batches)


def group_cost_us(n: int, repeats: int) -> float:
    """Microseconds for the group stage of one prompt with ``n`` responses."""
    rng = random.Random(n)
    template = [
        {
            "role": "policy",
            "format_ok": rng.random() < 0.9,
            "is_refine": rng.random() < 0.4,
            "num_refine": 1,
            "answer": "12",
            "extracted": "12",
            "acc": float(rng.random() < 0.6),
            "judge_failed": False,
            "judge_error": None,
            "scorer": "rule",
            "baseline_acc": None,
        }
        for _ in range(n)
    ]
    config = RewardConfig()
    elapsed = 0.0
    for _ in range(repeats):
        group = PromptGroup("uid", n, False, config)
        outputs = [
            AgentLoopOutput(
                prompt_ids=[1],
                response_ids=[2],
                response_mask=[1],
                metrics=AgentLoopMetrics(),
                extra_fields={"reward_extra_info": dict(record)},
            )
            for record in template
        ]
        start = time.perf_counter()
        for session, output in enumerate(outputs):
            group.add(session, output)
        elapsed += time.perf_counter() - start
    return elapsed / repeats * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--responses", type=int, default=2000)
    parser.add_argument("--tokens", type=int, default=1500)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.responses, args.tokens = 40, 200

    rng = random.Random(0)
    samples = [synthetic_response(rng, args.tokens) for _ in range(args.responses)]
    tokenizer = build_tokenizer([text for text, _ in samples] + ["what is it"])
    with tempfile.TemporaryDirectory() as model_dir:
        tokenizer.save_pretrained(model_dir)
        Path(model_dir, "config.json").write_text('{"model_type": "llama"}')
        with initialize_config_module("verl.trainer.config", version_base=None):
            config = compose("ppo_trainer", overrides=["+recipe=pasr", f"actor_rollout_ref.model.path={model_dir}"])
        prompt_ids = tokenizer("what is it")["input_ids"]
        batches = [build_batch(tokenizer, prompt_ids, text, reference) for text, reference in samples]
        pasr = PasrRewardManager(config, tokenizer)
        naive = NaiveRewardManager(config, tokenizer, default_compute_score)
        naive_s = cpu_seconds_per_item(naive, batches)
        pasr_s = cpu_seconds_per_item(pasr, batches)

    repeats = 200 if args.quick else 2000
    sweep = {n: group_cost_us(n, repeats) for n in (8, 16, 64)}
    print(f"per-sample reward, decode included, {args.responses} responses of ~{args.tokens} tokens (CPU time)")
    print(f"  verl naive manager + verl gsm8k scorer: {naive_s * 1e6:9.1f} us/response")
    print(f"  PASR reward manager (rules):            {pasr_s * 1e6:9.1f} us/response")
    print("group stage (group hook: records -> score_group -> records), per prompt group")
    for n, cost in sweep.items():
        print(f"  n={n:<3d} {cost:8.1f} us/group  {cost / n:6.2f} us/response")
    print(f"pasr_vs_verl_naive_cost_ratio={pasr_s / naive_s:.3f}")
    print(f"group_bonus_us_per_group={sweep[8]:.1f}")
    print(f"group_bonus_us_per_response_n8={sweep[8] / 8:.2f}")
    print(f"group_bonus_us_per_response_n64={sweep[64] / 64:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
