"""tools/analyze.py and tools/dashboard.py run as a user types them."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.eval.db_helpers import two_policy_db
from tests.hardening.bad_input import run_command

ROOT = Path(__file__).resolve().parents[2]


def run_tool(tool: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return run_command([f"tools/{tool}", *args], cwd=cwd, timeout=120)


def recorded(db: Path, train_dir: Path, runs: list[str], suite: str = "navigation") -> Path:
    """A copy of `db` where an evaluation of `runs` puts it, recorded as tools/sim.py records it."""
    from metta.sim.eval_index import default_db_path, record_evaluation

    path = default_db_path(train_dir, runs)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(db, path)
    record_evaluation(train_dir, path, str(path), suite, [(run, "v1") for run in runs])
    return path


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


@pytest.mark.parametrize("uri, words", [("CORRUPT", "DuckDB"), ("ftp://host/eval.duckdb", "scheme"),
                                       ("", "records no evaluation (run ./tools/sim.py first")])
def test_corrupt_database_or_bad_uri_is_one_line(tmp_path, uri, words):
    if uri == "CORRUPT":
        uri = str(tmp_path / "corrupt.duckdb")
        Path(uri).write_bytes(b"\x00garbage" * 100)
    args = [f"analysis.eval_db_uri={uri}"] if uri else [f"analysis.train_dir={tmp_path / 'train_dir'}"]
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


def test_policy_uri_alone_finds_that_runs_recorded_evaluations(db, tmp_path):
    """The reference's `./tools/analyze.py analysis.policy_uri="wandb://run/<run>"`, no DB named:
    typed in a directory whose ./train_dir holds the evaluations tools/sim.py recorded."""
    nav = recorded(db, tmp_path / "train_dir", ["nav_run", "random"])
    recorded(db, tmp_path / "train_dir", ["other_run"])  # newer, but of another run
    result = run_tool("analyze.py", 'analysis.policy_uri=wandb://run/nav_run', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"analysis: reading {nav.relative_to(tmp_path)}" in result.stderr
    report = json.loads((tmp_path / "analysis_report" / "report.json").read_text())
    assert report["sources"] == [str(nav.relative_to(tmp_path))]
    assert [p["id"] for p in report["policies"]] == ["nav_run:v2", "nav_run:v1"]

    missing = run_tool("analyze.py", "analysis.policy_uri=wandb://run/never_evaluated", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "records no evaluation of 'never_evaluated'" in missing.stderr


def test_recipe_analyze_without_arguments_reads_the_latest_evaluation_of_its_suite(db, tmp_path):
    train_dir = tmp_path / "train_dir"
    navigation = recorded(db, train_dir, ["nav_run"], suite="navigation")
    recorded(db, train_dir, ["random"], suite="arena")
    latest = run_tool("analyze.py", cwd=tmp_path)  # no suite: the latest evaluation of all
    assert latest.returncode == 0, latest.stderr
    assert "analysis: reading train_dir/eval_random/stats.db" in latest.stderr
    by_recipe = subprocess.run([str(ROOT / "tools" / "run.py"), "analyze", "navigation"], capture_output=True,
                               text=True, timeout=120, cwd=tmp_path, check=False)
    assert by_recipe.returncode == 0, by_recipe.stderr
    assert f"analysis: reading {navigation.relative_to(tmp_path)}" in by_recipe.stderr
    assert "1. nav_run:v2  navigation_score 2.25" in by_recipe.stdout
    # and the recipe-era form naming the file
    named = subprocess.run([str(ROOT / "tools" / "run.py"), "analyze", "navigation",
                            "eval_db_uri=./train_dir/eval_nav_run/stats.db"], capture_output=True, text=True,
                           timeout=120, cwd=tmp_path, check=False)
    assert named.returncode == 0, named.stderr
    assert named.stdout.splitlines()[2:] == by_recipe.stdout.splitlines()[2:]


def test_dashboard_reads_every_recorded_evaluation_by_default(db, tmp_path):
    train_dir = tmp_path / "train_dir"
    recorded(db, train_dir, ["nav_run"])
    out = tmp_path / "dashboard.json"
    result = run_tool("dashboard.py", f"dashboard.train_dirs=[{train_dir}]", f"dashboard.output_path={out}")
    assert result.returncode == 0, result.stderr
    dashboard = json.loads(out.read_text())
    assert dashboard["sources"]["eval_dbs"] == [str(train_dir / "eval_nav_run" / "stats.db")]
    assert len(dashboard["evaluations"]) == 3


def test_dashboard_lists_typed_unquoted_as_in_the_reference(db, tmp_path):
    """`dashboard.policies=["run1", "run2"] dashboard.metrics=["reward", "success_rate"]` typed
    in bash reaches the tool as these four words; they mean the same as the quoted form."""
    words = ["dashboard.policies=[nav_run,", "run2]", "dashboard.metrics=[reward,", "success_rate]"]
    typed = run_tool("dashboard.py", f"dashboard.output_path={tmp_path / 'a.json'}", f"dashboard.eval_db_uris=[{db}]",
                     "dashboard.train_dirs=[]", *words)
    quoted = run_tool("dashboard.py", f"dashboard.output_path={tmp_path / 'b.json'}", f"dashboard.eval_db_uris=[{db}]",
                      "dashboard.train_dirs=[]", 'dashboard.policies=["nav_run", "run2"]',
                      'dashboard.metrics=["reward", "success_rate"]')
    assert typed.returncode == 0 and quoted.returncode == 0, typed.stderr + quoted.stderr
    a, b = (json.loads((tmp_path / name).read_text()) for name in ("a.json", "b.json"))
    assert a["metrics"] == b["metrics"] == ["reward", "success_rate"]
    assert [p["id"] for p in a["policies"]] == [p["id"] for p in b["policies"]] == ["nav_run:v2", "nav_run:v1"]
    # a list that never closes is still one line naming the key
    broken = run_tool("dashboard.py", "dashboard.policies=[nav_run,", "run2")
    assert broken.returncode == 2 and broken.stderr.count("\n") == 1 and "dashboard.policies" in broken.stderr
