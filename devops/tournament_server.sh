#!/usr/bin/env bash
# The tournament server on this machine (docs/tournament.md): uploads, seasons, background
# matches and leaderboards for `cogames`. Data lives in $TOURNAMENT_DIR (train_dir/tournament/).
#   devops/tournament_server.sh                                  # http://127.0.0.1:8765
#   devops/tournament_server.sh --port 9000 --match-workers 2    # any server option passes through
#   devops/tournament_server.sh --add-user root --admin          # print an admin's token and exit
#   TOURNAMENT_DIR=/data/tournament devops/tournament_server.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${TOURNAMENT_DIR:-train_dir/tournament}
python=${PYTHON:-.venv/bin/python}
[ -n "${PYTHON:-}" ] || [ -x "$python" ] || python=python3  # $PYTHON, else the venv's, else python3
mkdir -p "$dir"
exec "$python" -m metta.tournament.server --db "$dir/tournament.db" --storage "$dir/storage" "$@"
