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

# PASR on Qwen2.5-32B-Instruct: five nodes with 8 GPUs each in one Ray cluster, four training and
# one serving the judge (Qwen2.5-72B-Instruct by default) in its own resource pool. Start the cluster
# first (node 0: `ray start --head`; others: `ray start --address=<node0>:6379`), then run this on
# node 0. $PASR_DATA_DIR must be readable from every node (shared filesystem).
set -xeuo pipefail
export PASR_DATA_DIR=${PASR_DATA_DIR:-$HOME/data/pasr}
export PASR_JUDGE_MODEL=${PASR_JUDGE_MODEL:-Qwen/Qwen2.5-72B-Instruct}
python3 -m verl.trainer.main_ppo +recipe=pasr_qwen2_5_32b "$@"
