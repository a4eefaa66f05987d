#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Report on evaluation results: per policy and evaluation, mean/std/CI of every metric.

  ./tools/analyze.py analysis.eval_db_uri=./eval.duckdb analysis.output_path=./report/
  ./tools/analyze.py analysis.eval_db_uri='[a.duckdb, s3://bucket/b.duckdb]' analysis.metrics='[reward]'
  ./tools/analyze.py analysis.eval_db_uri=./eval.duckdb analysis.policy_uri=wandb://run/exp \
      analysis.policy_selector.metric=navigation_score
  ./tools/analyze.py analysis.eval_db_uri=./eval.duckdb analysis.output_path=s3://bucket/analysis/

Writes report.json and report.html (open it in a browser) under analysis.output_path.
"""

import sys

import hydra

from metta.common.tool import exit_on_config_error, job_config_from, precheck_overrides
from metta.jobs.analyze import AnalysisConfig, run_analysis, summary_lines


@hydra.main(config_path="../configs", config_name="analyze_job", version_base="1.3")
def main(cfg) -> None:
    report = exit_on_config_error(lambda: run_analysis(job_config_from(cfg, "analysis", AnalysisConfig)))
    print("\n".join(summary_lines(report)))


if __name__ == "__main__":
    precheck_overrides("analyze_job", sys.argv)
    main()
