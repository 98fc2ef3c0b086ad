#!/usr/bin/env bash
# PASR on Qwen2.5-32B-Instruct: five nodes with 8 GPUs each in one Ray cluster, four training and
# one serving the judge (Qwen2.5-72B-Instruct by default) in its own resource pool. Start the cluster
# first (node 0: `ray start --head`; others: `ray start --address=<node0>:6379`), then run this on
# node 0. $PASR_DATA_DIR must be readable from every node (shared filesystem).
set -xeuo pipefail
export PASR_DATA_DIR=${PASR_DATA_DIR:-$HOME/data/pasr}
export PASR_JUDGE_MODEL=${PASR_JUDGE_MODEL:-Qwen/Qwen2.5-72B-Instruct}
python3 -m verl.trainer.main_ppo +recipe=pasr_qwen2_5_32b "$@"
