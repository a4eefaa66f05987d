"""The reference's "Training and Evaluation Pipeline", both eras, typed as the docs type them
(at CPU scale) in a scratch directory, against a local S3 server: train, evaluate (the DB
written to S3 and to the default local place), analyze without naming a DB, the dashboard,
and the SQL shell on the S3 copy."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.tools.test_train_tool import TINY

ROOT = Path(__file__).resolve().parents[2]
AVG_REWARD = "SELECT policy_name, AVG(value) as avg_reward FROM agent_metrics WHERE metric = 'reward' GROUP BY policy_name"
RUN = "nav_experiment_001"


class Shell:
    def __init__(self, cwd: Path):
        self.cwd = cwd

    def __call__(self, tool: str, *args: str, status: int = 0) -> subprocess.CompletedProcess:
        result = subprocess.run([str(ROOT / "tools" / tool), *args], cwd=self.cwd, env=dict(os.environ),
                                capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == status, f"{tool} {' '.join(args)}\n{result.stdout}\n{result.stderr}"
        return result


def s3_keys(client, bucket: str) -> set[str]:
    return {obj["Key"] for obj in client.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_train_evaluate_analyze_dashboard_in_both_eras(tmp_path, s3_endpoint):
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="my-bucket")
    shell = Shell(tmp_path)

    # -- Hydra era (tools-hydra-era.md, "Training and Evaluation Pipeline") ----------------------
    shell("train.py", f"run_name={RUN}", "trainer.total_timesteps=512", *TINY)
    evaluated = shell("sim.py", f'sim_job.policy_uris=["wandb://run/{RUN}"]',
                      "sim_job.stats_db_uri=s3://my-bucket/evals/nav_001.db",
                      "sim_job.simulation_suite=smoke_test", "sim_job.num_episodes=1")
    assert f"wandb://run/{RUN}: the run trained here, train_dir/{RUN}" in evaluated.stderr
    assert json.loads(evaluated.stdout)["stats_db"] == "s3://my-bucket/evals/nav_001.db"
    assert (tmp_path / "train_dir" / f"eval_{RUN}" / "stats.db").is_file()  # the local copy

    analyzed = shell("analyze.py", f"analysis.policy_uri=wandb://run/{RUN}")
    assert f"analysis: reading train_dir/eval_{RUN}/stats.db" in analyzed.stderr
    assert f"1. {RUN}:v1" in analyzed.stdout
    shell("analyze.py", f"analysis.policy_uri=wandb://run/{RUN}", "analysis.output_path=s3://my-bucket/analysis/")
    assert {"analysis/report.json", "analysis/report.html"} <= s3_keys(s3, "my-bucket")

    shell("dashboard.py", "dashboard.output_path=s3://my-bucket/dashboards/nav_001.json")
    dashboard = json.loads(s3.get_object(Bucket="my-bucket", Key="dashboards/nav_001.json")["Body"].read())
    assert [p["id"] for p in dashboard["policies"]] == [f"{RUN}:v1"]
    assert dashboard["training"][0]["run"] == RUN

    sql = shell("stats_duckdb_cli.py", "+eval_db_uri=s3://my-bucket/evals/nav_001.db", "-c", AVG_REWARD,
                f"cache_dir={tmp_path / 'cache'}")
    assert f"{RUN}:v1" in sql.stdout

    # -- recipe era (tools-recipe-era.md): the checkpoint on S3, the DB where analyze is told --
    checkpoint = tmp_path / "train_dir" / RUN / "checkpoints" / f"{RUN}:v1.pt"
    s3.upload_file(str(checkpoint), "my-bucket", f"checkpoints/{RUN}/{RUN}:v1.pt")
    (tmp_path / "train_dir" / f"eval_{RUN}" / "stats.db").unlink()  # so that evaluate must write it again
    shell("run.py", "eval", "navigation", f"policy_uri=s3://my-bucket/checkpoints/{RUN}/{RUN}:v1.pt",
          "sim_job.simulation_suite=smoke_test", "sim_job.num_episodes=1")  # the smoke test: quicker
    named = shell("run.py", "analyze", "navigation", f"eval_db_uri=./train_dir/eval_{RUN}/stats.db")
    assert f"1. {RUN}:v1  navigation_score" in named.stdout
    report = json.loads((tmp_path / "analysis_report" / "report.json").read_text())
    assert report["sources"] == [f"./train_dir/eval_{RUN}/stats.db"]
    assert "navigation/emptyspace" in {e["id"] for e in report["evaluations"]}
    latest = shell("analyze.py")  # no arguments: the latest evaluation recorded
    assert f"analysis: reading train_dir/eval_{RUN}/stats.db" in latest.stderr
