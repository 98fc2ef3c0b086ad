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

"""Rollout cost per training prompt of each baseline mode, derived from the shipped configs.

Composes a ``+recipe=`` config the way ``verl.trainer.main_ppo`` does, once per baseline mode, and
counts per training prompt: generations, the most response tokens they may take (generations x
``response_length``), and judge calls on judged data. The paper's reference code is the baseline:
n PASR responses plus n standard responses per prompt, all judged one at a time.

Usage: ``python benchmarks/rollout_cost.py [--recipe pasr_qwen2_5_7b]``; the last lines are ``name=value``.
"""

from __future__ import annotations

import argparse
import sys

from hydra import compose, initialize_config_module


def per_prompt_cost(recipe: str, baseline: str) -> tuple[int, int]:
    """(generations, max response tokens) per training prompt under ``baseline``."""
    with initialize_config_module("verl.trainer.config", version_base=None):
        config = compose("ppo_trainer", overrides=[f"+recipe={recipe}", f"pasr.reward.baseline={baseline}"])
    rollout = config.actor_rollout_ref.rollout
    generations = rollout.n + (config.pasr.paired_samples if baseline == "paired" else 0)
    return generations, generations * config.data.max_response_length


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", default="pasr_qwen2_5_7b")
    args = parser.parse_args(argv)
    in_group = per_prompt_cost(args.recipe, "in_group")
    paired = per_prompt_cost(args.recipe, "paired")
    n = in_group[0]
    paper = (2 * n, 2 * in_group[1])  # n PASR + n standard responses, as the reference code generated
    print(f"+recipe={args.recipe}: per training prompt")
    print("mode        generations  max response tokens  judge calls (judged data)  judge calls in flight")
    print(f"in_group    {in_group[0]:11d}  {in_group[1]:19d}  {in_group[0]:25d}  concurrent (64 default)")
    print(f"paired      {paired[0]:11d}  {paired[1]:19d}  {paired[0]:25d}  concurrent (64 default)")
    print(f"paper code  {paper[0]:11d}  {paper[1]:19d}  {paper[0]:25d}  1 (sequential)")
    print(f"in_group_vs_paper_generation_ratio={in_group[0] / paper[0]:.3f}")
    print(f"paired_vs_paper_generation_ratio={paired[0] / paper[0]:.3f}")
    print(f"in_group_vs_paper_judge_calls_ratio={in_group[0] / paper[0]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
