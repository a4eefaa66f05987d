#!/usr/bin/env bash
# One sweep worker: keeps taking runs (suggest, train, evaluate, record) until the sweep has
# max_runs. Start as many as you like, on as many machines as can reach sweep_dir.
#   devops/sweep.sh sweep_name=my_sweep                              # sweep=quick, local record
#   devops/sweep.sh sweep_name=my_sweep sweep=full sweep_dir=s3://bucket/sweeps
#   devops/sweep.sh run=my_sweep                                     # run= is accepted as the sweep name
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for arg in "$@"; do
  case "$arg" in
    run=*) args+=("sweep_name=${arg#run=}") ;;
    *) args+=("$arg") ;;
  esac
done
exec ./tools/sweep_execute.py "${args[@]}"
