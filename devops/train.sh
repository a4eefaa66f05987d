#!/usr/bin/env bash
# Train one run: the launcher sweeps (and people) call. Arguments are tools/train.py overrides.
#   devops/train.sh run=my_run
#   devops/train.sh run=s.r.0 wandb.group=s wandb.name=s.r.0 ++trainer.optimizer.learning_rate=0.0003 sim=arena
#   NUM_GPUS=4 devops/train.sh run=big hardware=gpu         # 4 processes here (torchrun)
#   NUM_NODES=2 NODE_INDEX=0 MASTER_ADDR=10.0.0.1 NUM_GPUS=8 devops/train.sh run=big hardware=gpu
# One process (the default) is tools/train.py itself; more go through devops/train_distributed.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
gpus=${NUM_GPUS:-1} nodes=${NUM_NODES:-1}
if [ "$gpus" -le 1 ] && [ "$nodes" -le 1 ]; then
  exec ./tools/train.py "$@"
fi
exec ./devops/train_distributed.sh "$nodes" "${NODE_INDEX:-0}" "${MASTER_ADDR:-localhost}" "$gpus" "$@"
