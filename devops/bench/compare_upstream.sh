#!/usr/bin/env bash
# Side-by-side throughput: the upstream mettagrid package (PyPI) and ours, same cases, same
# machine, back to back. Needs ../shared/bench (the upstream runner) beside the repo.
# Usage: devops/bench/compare_upstream.sh [--seconds S] [--reps R]
set -euo pipefail
cd "$(dirname "$0")/../.."
upstream=${UPSTREAM_BENCH:-../shared/bench/upstream_mettagrid.sh}
[ -x "$upstream" ] || { echo "compare_upstream: $upstream not found" >&2; exit 1; }
args=("$@")
echo "# upstream"
"$upstream" arena24 nav4 dense384 "${args[@]}"
echo "# ours (upstream window: 13x13, 500 tokens)"
.venv/bin/python devops/bench/env_sps.py arena24 nav4 dense384 --window upstream "${args[@]}"
echo "# ours (our window: 11x11, 200 tokens)"
.venv/bin/python devops/bench/env_sps.py arena24 arena24b nav4 dense384 vec --window ours "${args[@]}"
