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

# PASR on Qwen2.5-1.5B-Instruct: one node with 8 GPUs (4 train, 4 serve the judge inside verl).
# Data from data_prep/prepare_train.py in $PASR_DATA_DIR (default ~/data/pasr). Extra Hydra
# overrides are passed through: bash run_qwen2_5_1_5b.sh trainer.logger='[console,wandb]'
set -xeuo pipefail
export PASR_DATA_DIR=${PASR_DATA_DIR:-$HOME/data/pasr}
export PASR_JUDGE_MODEL=${PASR_JUDGE_MODEL:-Qwen/Qwen2.5-7B-Instruct}
python3 -m verl.trainer.main_ppo +recipe=pasr_qwen2_5_1_5b "$@"
