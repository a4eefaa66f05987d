"""The validation suites (metta/recipes/validation/) and their runner (metta/jobs/validation.py):
every job names a recipe tool and arguments that compose; the runner passes a job that works,
fails one that misses a threshold, kills one that runs out of time, and writes all of it to
results.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metta.jobs import run_tool
from metta.jobs.validation import run_suite, suite_jobs
from metta.recipes import RecipeCall
from metta.recipes.validation import AcceptanceCriterion, JobConfig
from tests.tools.test_run_tool import TINY_NO_ENV

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("suite", ["ci", "stable"])
def test_every_suite_job_resolves_and_composes(suite, tmp_path):
    jobs = suite_jobs(suite)
    assert jobs and len({job.name for job in jobs}) == len(jobs)
    for job in jobs:
        tool, recipe, _ = run_tool.parse([job.module])
        call = run_tool.resolve(tool, recipe)
        assert not job.is_training_job or call.config_name == "train_job", job.name
        args = [a.replace("{train_dir}", str(tmp_path)).replace("{out}", str(tmp_path)) for a in job.args]
        if isinstance(call, RecipeCall):
            run_tool.compose(call.config_name, list(call.overrides) + run_tool.translate(call.config_name, args))
        else:
            run_tool.command_argv(call, args)


def test_criteria_compare_by_their_operator():
    assert AcceptanceCriterion(metric="m", operator=">=", threshold=2).holds(2)
    assert not AcceptanceCriterion(metric="m", operator=">", threshold=2).holds(2)
    assert AcceptanceCriterion(metric="m", operator="<", threshold=2).holds(1.5)
    assert str(AcceptanceCriterion(metric="overview/sps", threshold=40000)) == "overview/sps >= 40000"
    with pytest.raises(ValueError):
        AcceptanceCriterion(metric="m", operator="~", threshold=1)


def test_stable_suite_shrunk_keeps_its_thresholds(tmp_path):
    """A shrunk stable run: the navigation job trains 512 steps, so it honestly misses its reward
    threshold; the scripted CoGsGuard roles clear theirs."""
    overrides = ["trainer.total_timesteps=512", *TINY_NO_ENV]
    command = [sys.executable, "-m", "metta.cli", "suite", "stable", "--out", str(tmp_path),
               "--job", "stable.navigation_train_8m", "--job", "stable.cvc_small_roles",
               *[f"--override={o}" for o in overrides]]
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                            text=True, timeout=400, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[stable] stable.navigation_train_8m: FAILED" in result.stdout
    assert "[stable] stable.cvc_small_roles: PASSED" in result.stdout
    assert "[stable] 1/2 jobs passed" in result.stdout

    summary = json.loads((tmp_path / "results.json").read_text())
    assert summary["passed"] is False and summary["overrides"] == overrides
    navigation, roles = summary["jobs"]
    assert navigation["status"] == "failed" and navigation["exit_code"] == 0
    assert navigation["metrics"]["overview/sps"] > 0
    reward = next(c for c in navigation["criteria"] if c["criterion"] == "overview/reward >= 7")
    assert reward["passed"] is False and reward["value"] < 7
    assert "overview/reward >= 7 (got" in navigation["reason"]
    assert (tmp_path / "train_dir" / "stable.navigation_train_8m" / "metrics.jsonl").is_file()
    assert roles["status"] == "passed" and roles["metrics"]["reward_avg"] >= 4
    assert Path(roles["log"]).read_text().startswith("$ ")


def test_a_job_past_its_time_limit_is_killed_with_its_workers(tmp_path):
    slow = JobConfig(name="slow", module="recipes.navigation.train", timeout_s=3, is_training_job=True,
                     args=["run=slow", "trainer.total_timesteps=100000000", *TINY_NO_ENV])
    missing = JobConfig(name="quiet", module="recipes.navigation.train", args=["--dry-run", "run=q"],
                        acceptance_criteria=[AcceptanceCriterion(metric="reward_avg", threshold=0)])
    summary = run_suite("custom", tmp_path, jobs=[slow, missing])
    timed_out, quiet = summary["jobs"]
    assert timed_out["status"] == "timeout" and timed_out["exit_code"] is None
    assert 3 <= timed_out["duration_s"] < 30
    left = subprocess.run(["pgrep", "-f", f"train_dir={tmp_path}/train_dir"], capture_output=True, text=True,
                          check=False)
    assert left.stdout == ""  # the job's whole process group is gone
    assert quiet["status"] == "failed" and quiet["exit_code"] == 0
    assert quiet["reason"] == "reward_avg >= 0 (got no value)" and quiet["criteria"][0]["value"] is None
    assert json.loads((tmp_path / "results.json").read_text()) == summary
