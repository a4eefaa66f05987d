#!/usr/bin/env bash
# Data-parallel training with torchrun on one or several nodes.
#   devops/train_distributed.sh NUM_NODES NODE_RANK MASTER_ADDR PROCS_PER_NODE [train overrides...]
#   devops/train_distributed.sh 1 0 localhost 2 run=ddp system.device=cpu     # 2 CPU processes here
# Every node runs the same command with its own NODE_RANK; rank 0 writes checkpoints and logs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 4 ]; then
  echo "usage: $0 NUM_NODES NODE_RANK MASTER_ADDR PROCS_PER_NODE [overrides...]" >&2
  exit 2
fi
nodes=$1 rank=$2 master=$3 procs=$4
shift 4
exec .venv/bin/torchrun --nnodes="$nodes" --node_rank="$rank" --nproc_per_node="$procs" \
  --rdzv_backend=c10d --rdzv_endpoint="$master:29500" --rdzv_id="${RDZV_ID:-metta}" \
  tools/train.py "$@"
