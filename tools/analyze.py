#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Report on evaluation results: per policy and evaluation, mean/std/CI of every metric.

  ./tools/analyze.py analysis.policy_uri=wandb://run/my_run      # my_run's recorded evaluations
  ./tools/analyze.py                                              # the latest recorded evaluation
  ./tools/analyze.py analysis.eval_db_uri=./eval.duckdb analysis.output_path=./report/
  ./tools/analyze.py analysis.eval_db_uri='[a.duckdb, s3://bucket/b.duckdb]' analysis.metrics='[reward]'
  ./tools/analyze.py analysis.eval_db_uri=./eval.duckdb analysis.policy_uri=wandb://run/exp \
      analysis.policy_selector.metric=navigation_score
  ./tools/analyze.py analysis.eval_db_uri=./eval.duckdb analysis.output_path=s3://bucket/analysis/

Writes report.json and report.html (open it in a browser) under analysis.output_path.
"""

from metta.common.tool import hydra_tool

if __name__ == "__main__":
    hydra_tool("analyze.py")
