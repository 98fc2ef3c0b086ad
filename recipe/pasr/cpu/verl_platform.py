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

"""A ``cpu`` platform for verl 0.9.1, and the two patches its trainer needs on a machine without GPUs.

Imported by verl itself in every process when ``VERL_USE_EXTERNAL_MODULES=recipe.pasr.cpu.verl_platform``
(verl/__init__.py); selected with ``VERL_PLATFORM=cpu``. What it does, each on purpose:

- registers :class:`PlatformCPU` (verl's platform plugin API): device ``cpu``, communication backend gloo,
  Ray placement on logical ``GPU`` resources (``ray_init.num_gpus``), and a device module
  (:class:`CpuDeviceModule`) answering exactly the ``torch.cuda``-style calls verl makes on the training
  path. An unknown call raises, so a new call in a verl upgrade is seen, not silently ignored;
- patches ``torch.distributed.init_process_group`` to accept verl's ``"cpu:gloo,cpu:gloo"`` backend
  string (verl builds ``cpu:gloo,<device>:<backend>``, a duplicate on CPU, which torch rejects);
- patches verl's FSDP engine so the FSDP2 reference model offloads without pinned memory (pinning needs
  an accelerator).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
import torch
import torch.distributed
from verl.plugin.platform.platform_base import PlatformBase
from verl.plugin.platform.platform_manager import PlatformRegistry

from recipe.pasr.cpu.guard import ORIGINAL, check_patch_target

VERL_VERSION = "0.9.1"


class CpuDeviceModule:
    """What verl calls on ``get_torch_device()`` (``torch.cuda`` on GPUs), answered for the CPU.

    Streams, events and device queries come from ``torch.cpu``. CPU tensors have no caching allocator, so
    the allocator statistics verl logs (``memory_allocated`` & co.) are 0 and cache calls do nothing;
    ``mem_get_info`` reports the host's memory. Anything else raises :class:`AttributeError` naming the call.
    """

    Stream = torch.cpu.Stream
    Event = torch.cpu.Event
    stream = staticmethod(torch.cpu.stream)
    current_stream = staticmethod(torch.cpu.current_stream)
    synchronize = staticmethod(torch.cpu.synchronize)

    @staticmethod
    def is_available() -> bool:
        return True

    @staticmethod
    def device_count() -> int:
        return 1

    @staticmethod
    def current_device() -> int:
        return 0

    @staticmethod
    def set_device(device: Any) -> None:
        """One device: nothing to select."""

    @staticmethod
    def get_device_name(device: Any = None) -> str:
        return "CPU"  # verl's flops counter looks the name up in its table; unknown names count 0 flops

    @staticmethod
    def manual_seed(seed: int) -> None:
        torch.manual_seed(seed)

    @staticmethod
    def manual_seed_all(seed: int) -> None:
        torch.manual_seed(seed)

    @staticmethod
    def get_rng_state(device: Any = None) -> torch.Tensor:
        return torch.get_rng_state()

    @staticmethod
    def set_rng_state(state: torch.Tensor, device: Any = None) -> None:
        torch.set_rng_state(state)

    @staticmethod
    def empty_cache() -> None:
        """No caching allocator on the CPU."""

    @staticmethod
    def ipc_collect() -> None:
        """No CUDA IPC handles on the CPU."""

    @staticmethod
    def set_per_process_memory_fraction(fraction: float, device: Any = None) -> None:
        """No device memory pool to cap on the CPU."""

    @staticmethod
    def mem_get_info(device: Any = None) -> tuple[int, int]:
        memory = psutil.virtual_memory()
        return memory.available, memory.total

    @staticmethod
    def memory_allocated(device: Any = None) -> int:
        return 0

    @staticmethod
    def memory_reserved(device: Any = None) -> int:
        return 0

    @staticmethod
    def max_memory_allocated(device: Any = None) -> int:
        return 0

    @staticmethod
    def max_memory_reserved(device: Any = None) -> int:
        return 0

    @staticmethod
    def reset_peak_memory_stats(device: Any = None) -> None:
        """Nothing recorded, nothing to reset."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"verl called get_torch_device().{name}, which the CPU platform does not provide; "
            "add it on purpose to recipe.pasr.cpu.verl_platform.CpuDeviceModule"
        )


@PlatformRegistry.register(platform="cpu")
class PlatformCPU(PlatformBase):
    """verl's platform interface on a CPU host (select with ``VERL_PLATFORM=cpu``)."""

    _device_module = CpuDeviceModule()

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> Any:
        return self._device_module

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check: bool = False) -> bool:
        return os.environ.get("VERL_PLATFORM", "").strip().lower() == "cpu"  # never auto-detected on a GPU host

    def current_device(self) -> Any:
        # verl passes this straight to .to(...) and device=...: an int would mean an accelerator index.
        return torch.device("cpu")

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        """One device: nothing to select."""

    def synchronize(self, device_index: int | None = None) -> None:
        torch.cpu.synchronize()

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        """verl's allocator settings are CUDA caching-allocator options; the CPU has none."""

    def empty_cache(self) -> None:
        """No caching allocator on the CPU."""

    def get_device_capability(self, device_index: int = 0) -> tuple[int | None, int | None]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        return "CUDA_VISIBLE_DEVICES"  # set by Ray for its logical GPUs; nothing reads it on the CPU

    @contextmanager
    def nvtx_range(self, msg: str) -> Iterator[None]:
        yield  # no NVTX profiler on the CPU

    def profiler_start(self) -> None:
        """No device profiler on the CPU."""

    def profiler_stop(self) -> None:
        """No device profiler on the CPU."""

    def ray_resource_name(self) -> str:
        # verl places workers on "GPU" bundles; ray.init(num_gpus=N) declares N logical GPUs on a CPU host.
        return "GPU"

    def ray_noset_envvars(self) -> list[str]:
        return ["RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES"]

    def is_ipc_supported(self) -> bool:
        return False  # weights reach vLLM through verl's non-IPC path

    def cudart(self) -> None:
        return None


# --- patch 1: torch.distributed.init_process_group, for verl's backend string --------------------------
DUPLICATE_BACKEND = "cpu:gloo,cpu:gloo"


def _accept_duplicate_cpu_backend() -> None:
    from verl.utils import distributed

    for target in (distributed.initialize_global_process_group, distributed.initialize_global_process_group_ray):
        check_patch_target(
            "init_process_group: cpu:gloo,cpu:gloo",
            "verl",
            VERL_VERSION,
            target,
            'f"cpu:gloo,{get_device_name()}:{get_nccl_backend()}"',
        )
    original = torch.distributed.init_process_group
    if hasattr(original, ORIGINAL):
        return

    @functools.wraps(original)
    def init_process_group(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("backend") == DUPLICATE_BACKEND:
            kwargs["backend"] = "cpu:gloo"
        elif args and args[0] == DUPLICATE_BACKEND:
            args = ("cpu:gloo", *args[1:])
        return original(*args, **kwargs)

    setattr(init_process_group, ORIGINAL, original)
    torch.distributed.init_process_group = init_process_group


# --- patch 2: verl's FSDP2 reference engine pins its offloaded parameters --------------------------------
PINNED_OFFLOAD = "offload_policy = CPUOffloadPolicy(pin_memory=True)"


def _offload_without_pinning() -> None:
    from verl.workers.engine.fsdp import transformer_impl

    check_patch_target(
        "FSDP2 CPUOffloadPolicy without pinned memory",
        "verl",
        VERL_VERSION,
        transformer_impl.FSDPEngine._build_fsdp_module,
        PINNED_OFFLOAD,
    )
    original = transformer_impl.CPUOffloadPolicy
    if hasattr(original, ORIGINAL):
        return

    @functools.wraps(original, updated=())
    def unpinned_offload_policy(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **{**kwargs, "pin_memory": False})

    setattr(unpinned_offload_policy, ORIGINAL, original)
    transformer_impl.CPUOffloadPolicy = unpinned_offload_policy


def apply_patches() -> None:
    """Apply both patches (idempotent); each checks its target first."""
    _accept_duplicate_cpu_backend()
    _offload_without_pinning()


apply_patches()
