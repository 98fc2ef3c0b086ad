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

# PASR on Qwen2.5-14B-Instruct: two nodes with 8 GPUs each, in one Ray cluster. Start the cluster
# first (node 0: `ray start --head`; node 1: `ray start --address=<node0>:6379`), then run this on
# node 0. The judge is any OpenAI-compatible endpoint reachable from every node.
set -xeuo pipefail
export PASR_DATA_DIR=${PASR_DATA_DIR:-$HOME/data/pasr}
: "${PASR_JUDGE_URL:?set PASR_JUDGE_URL to the judge OpenAI-compatible base URL, e.g. http://judge:8000/v1}"
: "${PASR_JUDGE_MODEL:?set PASR_JUDGE_MODEL to the model name the judge server serves}"
python3 -m verl.trainer.main_ppo +recipe=pasr_qwen2_5_14b "$@"
