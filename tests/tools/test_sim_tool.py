"""tools/sim.py as a user types it: built-in policies on the smoke test, a freshly trained
checkpoint on the navigation suite with the DB exported to a local S3 server, the reference's
SQL against the result, and bad inputs refused in one line."""

import json
import os
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from mettagrid.replay import load_replay
from tests.tools.test_train_tool import TINY

ROOT = Path(__file__).resolve().parents[2]
SIM = str(ROOT / "tools" / "sim.py")
AVG_REWARD = "SELECT policy_name, AVG(value) as avg_reward FROM agent_metrics WHERE metric = 'reward' GROUP BY policy_name;"
EPISODE_STEPS = "SELECT policy_name, episode, COUNT(*) as steps FROM agent_metrics GROUP BY policy_name, episode;"
NAV_SIMS = ["emptyspace", "walls", "corridors", "labyrinth", "radial_maze", "obstacles"]


def run_sim(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(check=False, args=[SIM, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def uris(*values: str) -> str:
    return "sim_job.policy_uris=" + json.dumps(list(values))


def query(path, sql):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_builtin_policies_on_the_smoke_test(tmp_path):
    result = run_sim(uris("metta://policy/random", "metta://policy/scripted"), "sim_job.simulation_suite=smoke_test",
                     f"train_dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["simulation_suite"] == "smoke_test"
    assert [p["policy_uri"] for p in report["policies"]] == ["metta://policy/random", "metta://policy/scripted"]
    [random_cp] = report["policies"][0]["checkpoints"]
    [scripted_cp] = report["policies"][1]["checkpoints"]
    assert (random_cp["name"], random_cp["uri"]) == ("random", "metta://policy/random")
    assert set(scripted_cp["metrics"]) == {"reward_avg", "navigation/emptyspace/reward", "arena/basic/reward"}
    assert scripted_cp["metrics"]["reward_avg"] > random_cp["metrics"]["reward_avg"]

    db = Path(report["stats_db"])
    assert db == tmp_path / "eval_random+scripted" / "stats.db"  # the default: <train_dir>/eval_<run>/stats.db
    assert f"stats DB written to {db}" in result.stderr
    [record] = [json.loads(line) for line in (tmp_path / "evaluations.jsonl").read_text().splitlines()]
    # the local file is recorded relative to train_dir, so the record holds wherever it is read from
    assert (record["local"], record["stats_db"], record["suite"]) == ("eval_random+scripted/stats.db", str(db),
                                                                      "smoke_test")
    assert record["policies"] == [["random", "builtin"], ["scripted", "builtin"]]
    averages = dict(query(db, AVG_REWARD))
    assert set(averages) == {"random:builtin", "scripted:builtin"}
    episodes = query(db, EPISODE_STEPS)
    assert len(episodes) == 2 * (2 + 1)  # two policies x (2 navigation + 1 arena episodes)


def test_trained_checkpoint_on_navigation_exported_to_s3(tmp_path, s3_endpoint):
    import boto3

    train = subprocess.run(check=False, args=[str(ROOT / "tools" / "train.py"), "run=navrun", f"train_dir={tmp_path}",
                            "trainer.total_timesteps=512", *TINY],
                           capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert train.returncode == 0, train.stderr
    boto3.client("s3").create_bucket(Bucket="sim-tool")
    checkpoints = f"file://{tmp_path}/navrun/checkpoints"
    result = run_sim(uris(checkpoints, "metta://policy/random"), "sim_job.simulation_suite=navigation",
                     "selector_type=top", "sim_job.metric=agent_steps", "sim_job.num_episodes=1",
                     f"train_dir={tmp_path}", "sim_job.stats_db_uri=s3://sim-tool/evals/nav.duckdb",
                     f"sim_job.replay_dir={tmp_path}/replays")
    assert result.returncode == 0, result.stderr
    assert f"replays written under {tmp_path}/replays" in result.stderr
    report = json.loads(result.stdout)
    assert report["stats_db"] == "s3://sim-tool/evals/nav.duckdb"
    [record] = [json.loads(line) for line in (tmp_path / "evaluations.jsonl").read_text().splitlines()]
    assert record["stats_db"] == "s3://sim-tool/evals/nav.duckdb"
    assert record["local"] == "eval_navrun+random/stats.db"  # the local copy stays, under train_dir
    trained = report["policies"][0]
    assert trained["policy_uri"] == checkpoints
    [checkpoint] = trained["checkpoints"]
    assert checkpoint["name"] == "navrun:v1"
    assert checkpoint["uri"] == f"file://{tmp_path}/navrun/checkpoints/navrun:v1.pt"
    assert set(checkpoint["metrics"]) == {"reward_avg"} | {f"{name}/reward" for name in NAV_SIMS}

    local = tmp_path / "downloaded.duckdb"
    boto3.client("s3").download_file("sim-tool", "evals/nav.duckdb", str(local))
    assert {name for name, _ in query(local, AVG_REWARD)} <= {"navrun:v1", "random:builtin"}
    steps = query(local, EPISODE_STEPS)
    assert {name for name, _, _ in steps} == {"navrun:v1", "random:builtin"}
    assert query(local, "SELECT COUNT(*) FROM episodes") == [(2 * len(NAV_SIMS),)]
    assert query(local, "SELECT DISTINCT suite FROM simulations") == [("navigation",)]

    # one replay per episode, named in the episodes table, readable and as long as the episode
    replays = sorted((tmp_path / "replays" / "navigation").glob("*/*.json.z"))
    assert len(replays) == 2 * len(NAV_SIMS)
    rows = query(local, "SELECT replay_url, step_count FROM episodes")
    assert sorted(Path(url) for url, _ in rows) == replays
    for url, steps in rows:
        replay = load_replay(url)
        assert replay["max_steps"] == steps
        assert replay["metadata"]["suite"] == "navigation"


@pytest.mark.parametrize("args, words", [
    ([uris("ftp://nowhere/x")], "unknown URI scheme"),
    ([uris("metta://policy/clever")], "unknown built-in policy"),
    ([uris()], "sim_job.policy_uris: no policies given"),
    ([uris("metta://policy/random"), "sim_job.simulation_suite=nope"], "no such simulation suite"),
    ([uris("metta://policy/random"), "selector_type=best"], "selector_type: Input should be 'latest', 'top' or 'all'"),
    ([uris("metta://policy/random"), "sim_job.num_workers=0"], "sim_job.num_workers"),
    ([uris("metta://policy/random"), "sim_job.polcy=1"], "sim_job.polcy"),
])
def test_bad_inputs_are_one_line_and_exit_2(args, words, tmp_path):
    result = run_sim(*args, f"train_dir={tmp_path}", timeout=120)
    assert result.returncode == 2, result.stderr
    assert words in result.stderr
    assert result.stderr.strip().count("\n") == 0 and result.stdout == ""


def test_unreadable_checkpoint_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "broken:v1.pt").write_bytes(b"not a checkpoint")
    result = run_sim(uris(f"file://{tmp_path}"), "sim_job.simulation_suite=smoke_test", f"train_dir={tmp_path}")
    assert result.returncode == 2
    assert "broken:v1.pt" in result.stderr and "not a readable checkpoint" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_a_single_uri_needs_no_list(tmp_path):
    result = run_sim("sim_job.policy_uris=metta://policy/simple", "sim_job.simulation_suite=smoke_test",
                     "sim_job.num_episodes=1", "sim_job.num_workers=1", f"sim_job.stats_db_uri={tmp_path}/one.duckdb",
                     f"train_dir={tmp_path}/train_dir")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["stats_db"] == f"{tmp_path}/one.duckdb"
    # a DB outside train_dir is recorded by its absolute path
    [record] = [json.loads(line) for line in (tmp_path / "train_dir" / "evaluations.jsonl").read_text().splitlines()]
    assert record["local"] == f"{tmp_path}/one.duckdb"
    assert query(tmp_path / "one.duckdb", "SELECT COUNT(*) FROM episodes") == [(2,)]


def test_without_policy_uris_the_newest_run_in_train_dir_is_evaluated(tmp_path):
    from metta.jobs.sim import newest_run_checkpoints

    for name, age in (("old", 100), ("new", 0)):
        folder = tmp_path / name / "checkpoints"
        folder.mkdir(parents=True)
        (folder / f"{name}:v1.pt").write_bytes(b"x")
        os.utime(folder / f"{name}:v1.pt", (time.time() - age, time.time() - age))
    (tmp_path / "empty" / "checkpoints").mkdir(parents=True)
    assert newest_run_checkpoints(tmp_path) == f"file://{tmp_path / 'new' / 'checkpoints'}"
    assert newest_run_checkpoints(tmp_path / "empty") is None
    # as typed in the docs: the suite and selector only; the newest run's file is no checkpoint
    result = run_sim("sim_job.simulation_suite=smoke_test", "selector_type=top", f"train_dir={tmp_path}", timeout=120)
    assert "evaluating the newest run: file://" in result.stderr and "new:v1.pt" in result.stderr
    assert result.returncode == 2


def test_max_steps_caps_every_episode(tmp_path):
    result = run_sim("sim_job.policy_uris=metta://policy/random", "sim_job.simulation_suite=smoke_test",
                     "sim_job.num_episodes=1", "sim_job.num_workers=1", "sim_job.max_steps=17",
                     f"sim_job.stats_db_uri={tmp_path}/capped.duckdb", f"train_dir={tmp_path}/train_dir")
    assert result.returncode == 0, result.stderr
    steps = query(tmp_path / "capped.duckdb", "SELECT step_count FROM episodes")
    assert steps and all(count == 17 for (count,) in steps), steps
