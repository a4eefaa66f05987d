"""Statistics of the analysis, checked against numbers worked out by hand.

The database (tests/eval/db_helpers.py) holds, reward per agent-episode:
  navigation/emptyspace  nav_run:v2 1,2,3,4   nav_run:v1 0,0,1,1   random 0,0,0,0
  navigation/walls       nav_run:v2 2,2,0,4   nav_run:v1 1,1,1,1   (two agents, two episodes each)
  arena/basic            nav_run:v2 3,6,0     (three agents, one episode)
Zeros are not stored, so every mean below relies on missing = 0.
"""

from __future__ import annotations

import json
import math
import random

import pytest

from metta.eval.analysis import (
    PolicyRef,
    build_report,
    checkpoint_of,
    load_table,
    policies_of_uri,
    read_table,
    select_checkpoints,
    select_metrics,
)
from metta.eval.statistics import Summary, difference_ci95, t_quantile_975
from metta.jobs.analyze import AnalysisConfig, run_analysis
from mettagrid.errors import ConfigError
from tests.eval.db_helpers import StatsDbBuilder, fill_two_policy_db, two_policy_db

T3, T2, T4 = 3.182446305284263, 4.302652729911275, 2.7764451051977987  # t(0.975) for df 3, 2, 4


@pytest.fixture
def db(tmp_path):
    return two_policy_db(tmp_path / "eval.duckdb")


@pytest.fixture
def report(db):
    return build_report(load_table([str(db)], "analysis.eval_db_uri"))


def rounded(value, digits: int = 9):
    """Nested numbers rounded, so results computed along different paths compare with ==."""
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return round(value, digits) if isinstance(value, float) else value


def result(report, policy, evaluation):
    matches = [r for r in report["results"] if r["policy"] == policy and r["evaluation"] == evaluation]
    assert len(matches) == 1
    return matches[0]


# -- statistics ----------------------------------------------------------------------------------


@pytest.mark.parametrize("df, expected", [(1, 12.7062), (2, 4.3027), (3, 3.1824), (5, 2.5706), (10, 2.2281),
                                          (30, 2.0423), (100, 1.9840), (1000, 1.9623), (10**7, 1.9600)])
def test_t_quantile_matches_the_printed_tables(df, expected):
    assert t_quantile_975(df) == pytest.approx(expected, abs=5e-5)


def test_merged_summaries_equal_the_summary_of_all_values():
    rng = random.Random(0)
    values = [rng.gauss(3, 2) for _ in range(57)] + [0.0] * 11
    direct_mean = sum(values) / len(values)
    direct_var = sum((v - direct_mean) ** 2 for v in values) / (len(values) - 1)
    merged = Summary(0, 0.0, 0.0)
    for chunk in (values[:5], values[5:40], values[40:57]):
        mean = sum(chunk) / len(chunk)
        merged = merged.merged(Summary(len(chunk), mean, sum((v - mean) ** 2 for v in chunk)))
    merged = merged.merged(Summary.zeros(11))
    assert merged.n == 68
    assert merged.mean == pytest.approx(direct_mean)
    assert merged.std == pytest.approx(math.sqrt(direct_var))


def test_single_value_has_no_spread_or_interval():
    assert Summary(1, 2.0, 0.0).std is None and Summary(1, 2.0, 0.0).ci95() is None


# -- per policy and evaluation ---------------------------------------------------------------------


def test_means_count_missing_metrics_as_zero(report):
    v1 = result(report, "nav_run:v1", "navigation/emptyspace")["metrics"]["reward"]
    assert v1["n"] == 4 and v1["mean"] == pytest.approx(0.5)  # stored: only the two 1s
    rnd = result(report, "random", "navigation/emptyspace")["metrics"]
    assert rnd["reward"] == {"mean": 0.0, "std": 0.0, "n": 4, "ci95": [0.0, 0.0]}  # nothing stored at all
    assert rnd["action.move"]["mean"] == pytest.approx(5.0)
    # altar.used was stored for v2 on emptyspace only: 0 over v2's walls agent-episodes.
    assert result(report, "nav_run:v2", "navigation/walls")["metrics"]["altar.used"]["mean"] == 0.0
    assert result(report, "nav_run:v2", "navigation/emptyspace")["metrics"]["altar.used"]["mean"] == 1.0


def test_std_counts_and_student_t_intervals(report):
    v2 = result(report, "nav_run:v2", "navigation/emptyspace")
    reward = v2["metrics"]["reward"]
    assert (v2["episodes"], v2["agent_episodes"], reward["n"]) == (4, 4, 4)
    assert reward["mean"] == pytest.approx(2.5)
    assert reward["std"] == pytest.approx(math.sqrt(5 / 3))  # deviations 1.5, .5, .5, 1.5 over n-1 = 3
    half = T3 * math.sqrt(5 / 3) / 2
    assert reward["ci95"] == pytest.approx([2.5 - half, 2.5 + half])

    walls = result(report, "nav_run:v2", "navigation/walls")
    assert (walls["episodes"], walls["agent_episodes"]) == (2, 4)
    assert walls["metrics"]["reward"]["std"] == pytest.approx(math.sqrt(8 / 3))

    arena = result(report, "nav_run:v2", "arena/basic")["metrics"]["reward"]
    assert (arena["n"], arena["mean"], arena["std"]) == (3, pytest.approx(3.0), pytest.approx(3.0))
    assert arena["ci95"] == pytest.approx([3 - T2 * 3 / math.sqrt(3), 3 + T2 * 3 / math.sqrt(3)])


def test_evaluations_are_named_by_category_and_ordered(report):
    assert report["evaluations"] == [
        {"id": "arena/basic", "category": "arena"},  # the name had its category; the suite ("all") is not used
        {"id": "navigation/emptyspace", "category": "navigation"},  # suite + name
        {"id": "navigation/walls", "category": "navigation"},
    ]
    # Policies are only reported where they played: random never played walls or arena.
    assert {r["evaluation"] for r in report["results"] if r["policy"] == "random"} == {"navigation/emptyspace"}


def test_category_scores_and_ranking(report):
    assert report["categories"]["nav_run:v2"]["navigation"]["reward"] == pytest.approx((2.5 + 2.0) / 2)
    assert report["categories"]["nav_run:v2"]["arena"]["reward"] == pytest.approx(3.0)
    assert report["categories"]["nav_run:v1"] == {
        "navigation": {"reward": pytest.approx(0.75), "action.move": 0.0, "altar.used": 0.0}
    }
    assert "arena" not in report["categories"]["random"]
    ranked = [(p["id"], p["rank"], p["score"]) for p in report["policies"]]
    assert ranked == [("nav_run:v2", 1, pytest.approx(2.5)), ("nav_run:v1", 2, pytest.approx(0.75)),
                      ("random", 3, 0.0)]


def test_comparison_against_the_best_policy_with_welch_intervals(report):
    emptyspace = report["comparison"]["navigation/emptyspace"]
    assert emptyspace["best"] == "nav_run:v2"
    v1 = emptyspace["vs_best"]["nav_run:v1"]
    # Welch: variances of the means 1/12 (v1) and 5/12 (v2); df = 0.25 / (26/432) = 4.15 -> 4.
    half = T4 * math.sqrt(0.5)
    assert v1["diff"] == pytest.approx(-2.0)
    assert v1["ci95"] == pytest.approx([-2 - half, -2 + half])
    assert v1["ci_excludes_zero"] is True
    walls = report["comparison"]["navigation/walls"]["vs_best"]["nav_run:v1"]
    assert walls["diff"] == pytest.approx(-1.0) and walls["ci_excludes_zero"] is False
    assert "arena/basic" not in report["comparison"]  # one policy only: nothing to compare


def test_difference_of_identical_constants_is_exact():
    diff, ci = difference_ci95(Summary(4, 1.0, 0.0), Summary(4, 1.0, 0.0))
    assert diff == 0.0 and ci == (0.0, 0.0)


# -- several databases, the bare spec schema, the real writer --------------------------------------


def test_two_databases_merge_to_the_same_numbers(tmp_path, report):
    first, second = StatsDbBuilder(tmp_path / "a.duckdb"), StatsDbBuilder(tmp_path / "b.duckdb")
    v1, v2 = ("nav_run", "v1"), ("nav_run", "v2")
    for reward in (1, 2):
        first.add_episode("emptyspace", "navigation", {0: (v2, {"reward": reward, "altar.used": 1})})
    for reward in (3, 4):
        second.add_episode("emptyspace", "navigation", {0: (v2, {"reward": reward, "altar.used": 1})})
    for reward in (0, 1):
        first.add_episode("emptyspace", "navigation", {0: (v1, {"reward": reward})})
        second.add_episode("emptyspace", "navigation", {0: (v1, {"reward": reward})})
    paths = [str(first.close()), str(second.close())]
    merged = build_report(load_table(paths, "analysis.eval_db_uri"))
    assert merged["sources"] == paths
    for policy in ("nav_run:v1", "nav_run:v2"):
        got = result(merged, policy, "navigation/emptyspace")
        want = result(report, policy, "navigation/emptyspace")
        assert rounded(got["metrics"]["reward"]) == rounded(want["metrics"]["reward"])
        assert got["agent_episodes"] == want["agent_episodes"]


def test_a_database_with_only_the_spec_columns(tmp_path, report):
    """agent_metrics as a plain table and integer versions: the analysis needs nothing more."""
    import duckdb

    path = fill_two_policy_db(StatsDbBuilder(tmp_path / "spec.duckdb", spec_only=True),
                              v1=("nav_run", 1), v2=("nav_run", 2), rnd=("random", None))
    with duckdb.connect(str(path), read_only=True) as connection:
        spec_report = build_report(read_table(connection, str(path)))
    assert [p["id"] for p in spec_report["policies"]] == ["nav_run:v2", "nav_run:v1", "random"]
    for row in report["results"]:
        assert rounded(result(spec_report, row["policy"], row["evaluation"])["metrics"]) == rounded(row["metrics"])


def test_a_database_written_by_stats_writer(tmp_path):
    stats_db = pytest.importorskip("metta.sim.stats_db")
    path = tmp_path / "written.duckdb"
    with stats_db.StatsWriter(path) as writer:
        sim = writer.add_simulation("walls", "navigation", "mettagrid/navigation/evals/walls", "my_run", "v12")
        for rewards in ([1.0, 0.0], [3.0, 2.0]):
            writer.add_episode({"episode_rewards": rewards, "steps": 50,
                                "agent_stats": [{"action.move": 2}, {"action.move": 0}]},
                               sim, [("my_run", "v12"), ("simple", "builtin")])
    report = build_report(load_table([str(path)], "analysis.eval_db_uri"))
    mine = result(report, "my_run:v12", "navigation/walls")
    assert (mine["episodes"], mine["agent_episodes"]) == (2, 2)
    assert mine["metrics"]["reward"]["mean"] == pytest.approx(2.0)
    assert mine["metrics"]["action.move"]["mean"] == pytest.approx(2.0)
    npc = result(report, "simple", "navigation/walls")  # an NPC's agents count under its own policy
    assert npc["metrics"]["reward"]["mean"] == pytest.approx(1.0)
    assert npc["metrics"]["action.move"] == {"mean": 0.0, "std": 0.0, "n": 2, "ci95": [0.0, 0.0]}


# -- choosing policies and metrics -------------------------------------------------------------------


@pytest.mark.parametrize("uri, expected", [
    ("wandb://run/nav_run", ("nav_run", None)),
    ("wandb://run/nav_run:v3", ("nav_run", "3")),
    ("wandb://team/proj/nav_run:latest", ("nav_run", None)),
    ("file://./train_dir/nav_run/checkpoints/", ("nav_run", None)),
    ("./train_dir/nav_run", ("nav_run", None)),
    ("s3://bucket/runs/nav_run/checkpoints/nav_run:v12.pt", ("nav_run", "12")),
    ("random", ("random", None)),
])
def test_policy_uris_name_runs_and_checkpoints(uri, expected):
    assert checkpoint_of(uri) == expected


def test_policy_uri_keeps_that_runs_checkpoints(db):
    table = load_table([str(db)], "analysis.eval_db_uri")
    assert policies_of_uri(table, "wandb://run/nav_run") == {PolicyRef("nav_run", "v1"), PolicyRef("nav_run", "v2")}
    assert policies_of_uri(table, "s3://b/nav_run/nav_run:v1.pt") == {PolicyRef("nav_run", "v1")}
    assert policies_of_uri(table, "wandb://run/other") == set()


def test_selectors_latest_and_top_by_category_score(db):
    table = load_table([str(db)], "analysis.eval_db_uri")
    assert select_checkpoints(table, "latest", "score", "reward") == {PolicyRef("nav_run", "v2"),
                                                                      PolicyRef("random", "builtin")}
    top = select_checkpoints(table, "top", "navigation_score", "reward")
    assert PolicyRef("nav_run", "v2") in top and PolicyRef("nav_run", "v1") not in top
    with pytest.raises(ConfigError, match="policy_selector.metric: unknown metric 'speed'"):
        select_checkpoints(table, "top", "speed", "reward")


def test_metric_filter_takes_globs_and_never_stored_names():
    available = {"reward", "action.move", "action.attack", "altar.used"}
    assert select_metrics(available, ["action.*"], "reward") == {"reward", "action.move", "action.attack"}
    # A metric no database stored is 0 everywhere, which is still an answer.
    assert select_metrics(available, ["success_rate"], "reward") == {"reward", "success_rate"}
    assert select_metrics(available, None, "reward") == available


# -- writing the report --------------------------------------------------------------------------------


def test_run_analysis_writes_json_and_html_atomically(db, tmp_path):
    out = tmp_path / "report"
    job = AnalysisConfig(eval_db_uri=str(db), output_path=str(out), policy_uri="wandb://run/nav_run",
                         metrics=["reward"])
    written = run_analysis(job)["written"]
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json"]  # no temp files left
    data = json.loads((out / "report.json").read_text())
    assert data["format"] == "metta.analysis/1"
    assert [p["id"] for p in data["policies"]] == ["nav_run:v2", "nav_run:v1"]
    assert data["metrics"] == ["reward"]
    html = (out / "report.html").read_text()
    assert html.count("class='cell'") == 5  # v2 on three evaluations, v1 on two
    assert "<script src" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert written == {"json": str(out / "report.json"), "html": str(out / "report.html")}


def test_report_goes_to_s3(db, s3_endpoint):
    from metta.common.uri import make_s3_client

    client = make_s3_client()
    client.create_bucket(Bucket="analysis-reports")
    run_analysis(AnalysisConfig(eval_db_uri=str(db), output_path="s3://analysis-reports/exp1/"))
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="analysis-reports")["Contents"])
    assert keys == ["exp1/report.html", "exp1/report.json"]
    body = client.get_object(Bucket="analysis-reports", Key="exp1/report.json")["Body"].read()
    assert json.loads(body)["policies"][0]["id"] == "nav_run:v2"
    html = client.get_object(Bucket="analysis-reports", Key="exp1/report.html")
    assert html["ContentType"].startswith("text/html")


def test_a_database_on_s3_is_read(db, s3_endpoint, tmp_path):
    from metta.common.uri import make_s3_client

    make_s3_client().create_bucket(Bucket="analysis-dbs")
    make_s3_client().upload_file(str(db), "analysis-dbs", "evals/eval.duckdb")
    table = load_table(["s3://analysis-dbs/evals/eval.duckdb"], "analysis.eval_db_uri", str(tmp_path / "cache"))
    assert len(table.policies()) == 3


@pytest.mark.parametrize("make, message", [
    (lambda tmp: str(tmp / "nope.duckdb"), "no such"),
    (lambda tmp: (tmp / "junk.duckdb").write_text("not a database") and str(tmp / "junk.duckdb"), "DuckDB"),
])
def test_unreadable_databases_are_one_line_errors(tmp_path, make, message):
    with pytest.raises(ConfigError) as error:
        load_table([make(tmp_path)], "analysis.eval_db_uri")
    text = str(error.value)
    assert text.startswith("analysis.eval_db_uri: ") and message in text and "\n" not in text


def test_an_unknown_policy_uri_names_the_policies_there(db, tmp_path):
    with pytest.raises(ConfigError, match=r"no such policy in the database \(has: nav_run, random\)"):
        run_analysis(AnalysisConfig(eval_db_uri=str(db), output_path=str(tmp_path), policy_uri="wandb://run/x"))
