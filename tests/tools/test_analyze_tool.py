"""tools/analyze.py and tools/dashboard.py run as a user types them."""

import json
import subprocess
from pathlib import Path

import pytest

from tests.eval.db_helpers import two_policy_db

ROOT = Path(__file__).resolve().parents[2]


def run_tool(tool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "tools" / tool), *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, check=False)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return two_policy_db(tmp_path_factory.mktemp("db") / "eval.duckdb")


def test_report_from_a_database(db, tmp_path):
    out = tmp_path / "report"
    result = run_tool("analyze.py", f"analysis.eval_db_uri={db}", f"analysis.output_path={out}/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [f"report: {out / 'report.html'}", f"data:   {out / 'report.json'}"]
    assert "1. nav_run:v2  score 2.5" in result.stdout
    report = json.loads((out / "report.json").read_text())
    assert len(report["results"]) == 6
    assert (out / "report.html").read_text().count("class='cell'") == 6


def test_reference_form_policy_uri_and_selector_metric(db, tmp_path):
    result = run_tool("analyze.py", f"analysis.eval_db_uri={db}", f"analysis.output_path={tmp_path}",
                      "analysis.policy_uri=wandb://run/nav_run", "analysis.policy_selector.metric=navigation_score")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert [(p["id"], p["score"]) for p in report["policies"]] == [("nav_run:v2", 2.25), ("nav_run:v1", 0.75)]


def test_missing_database_is_one_line_and_exit_2(tmp_path):
    result = run_tool("analyze.py", f"analysis.eval_db_uri={tmp_path / 'nope.duckdb'}", f"analysis.output_path={tmp_path}")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: analysis.eval_db_uri: ") and "nope.duckdb" in result.stderr
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("uri, words", [("CORRUPT", "DuckDB"), ("ftp://host/eval.duckdb", "scheme"), ("", "no stats")])
def test_corrupt_database_or_bad_uri_is_one_line(tmp_path, uri, words):
    if uri == "CORRUPT":
        uri = str(tmp_path / "corrupt.duckdb")
        Path(uri).write_bytes(b"\x00garbage" * 100)
    args = [f"analysis.eval_db_uri={uri}"] if uri else []
    result = run_tool("analyze.py", *args, f"analysis.output_path={tmp_path / 'out'}")
    assert result.returncode == 2, result.stdout
    assert result.stderr.strip().count("\n") == 0 and words in result.stderr
    assert "Traceback" not in result.stderr


def test_misspelled_key_is_one_line(db):
    result = run_tool("analyze.py", f"analysis.eval_db_uri={db}", "analysis.output_pth=x")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "output_pth" in result.stderr


def test_dashboard_reference_forms(db, tmp_path):
    out = tmp_path / "local_dashboard.json"
    result = run_tool("dashboard.py", f"dashboard.output_path={out}", f"dashboard.eval_db_uris=[{db}]",
                      "dashboard.train_dirs=[]", 'dashboard.policies=["nav_run", "run2"]',
                      'dashboard.metrics=["reward", "success_rate"]')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"dashboard: {out} (2 policies, 3 evaluations, 0 training runs)"
    dashboard = json.loads(out.read_text())
    assert dashboard["metrics"] == ["reward", "success_rate"]


def test_dashboard_with_a_missing_database_is_one_line(tmp_path):
    result = run_tool("dashboard.py", f"dashboard.eval_db_uris=[{tmp_path / 'gone.duckdb'}]",
                      f"dashboard.output_path={tmp_path / 'd.json'}")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "dashboard.eval_db_uris" in result.stderr
