"""The stats DB: schema, non-zero storage, shard merges, averages with missing = 0, one-line
errors for missing or corrupt files, and the S3 round trip against a local server."""

import duckdb
import pytest

from metta.sim.stats_db import (
    TABLES,
    StatsDBError,
    StatsWriter,
    export_stats_db,
    load_stats_db,
    merge_shards,
    open_stats_db,
    simulation_metric_mean,
)


def episode(rewards, agent_stats, steps=10, groups=None, env_index=0):
    return {
        "env_index": env_index,
        "steps": steps,
        "episode_rewards": rewards,
        "agent_stats": agent_stats,
        "building_stats": {"altar.conversions.completed": 2.0},
        "game_stats": {"objects.wall": 12.0, "tokens.dropped": 0.0},
        "agent_groups": groups or [0] * len(rewards),
    }


def write_shard(path, policy=("run", "v3"), rewards=((1.0, 0.0), (3.0, 0.0))):
    with StatsWriter(path) as writer:
        sim = writer.add_simulation("walls", "navigation", "mettagrid/navigation/evals/walls", *policy)
        for index, pair in enumerate(rewards):
            writer.add_episode(episode(list(pair), [{"move.success": 4.0, "action.invalid": 0.0}, {}],
                                       env_index=index), sim, [policy, policy])
    return sim


def rows(path, sql):
    with open_stats_db(path) as con:
        return con.execute(sql).fetchall()


def test_schema_has_the_spec_tables_and_the_agent_metrics_view(tmp_path):
    db = tmp_path / "s.duckdb"
    write_shard(db)
    with open_stats_db(db) as con:
        names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert set(TABLES) | {"agent_metrics"} <= names
        columns = [r[0] for r in con.execute("DESCRIBE episodes").fetchall()]
        assert columns == ["id", "step_count", "created_at", "completed_at", "simulation_id", "replay_url"]
        view_columns = [r[0] for r in con.execute("DESCRIBE agent_metrics").fetchall()]
        assert view_columns[:4] == ["episode_id", "agent_id", "metric", "value"]
        assert {"policy_name", "episode"} <= set(view_columns)


def test_only_non_zero_metrics_are_stored_and_reward_is_the_episode_reward(tmp_path):
    db = tmp_path / "s.duckdb"
    write_shard(db)
    metrics = rows(db, "SELECT agent_id, metric, value FROM agent_metric_values ORDER BY value")
    # agent 0: reward 1 and 3, move.success twice; agent 1 has nothing non-zero
    assert sorted(metrics) == [(0, "move.success", 4.0), (0, "move.success", 4.0),
                               (0, "reward", 1.0), (0, "reward", 3.0)]
    # the view has every agent-episode for every metric name, the zeros filled in
    view = rows(db, "SELECT agent_id, metric, value FROM agent_metrics")
    assert len(view) == 2 * 2 * 2 and sorted(v for a, m, v in view if a == 1) == [0.0] * 4
    assert rows(db, "SELECT DISTINCT policy_name FROM agent_metrics") == [("run:v3",)]
    attributes = dict(rows(db, "SELECT attribute, value FROM episode_attributes WHERE episode_id = "
                               "(SELECT MIN(id) FROM episodes)"))
    assert attributes["game.objects.wall"] == "12" and "game.tokens.dropped" not in attributes
    assert attributes["building.altar.conversions.completed"] == "2"
    assert rows(db, "SELECT COUNT(*) FROM agent_policies") == [(4,)]
    assert rows(db, "SELECT COUNT(*) FROM agent_groups") == [(4,)]


def test_merge_combines_shards_and_averages_count_missing_as_zero(tmp_path):
    sim_a = write_shard(tmp_path / "a.duckdb", ("run", "v3"))
    sim_b = write_shard(tmp_path / "b.duckdb", ("random", "builtin"), rewards=((2.0, 2.0),))
    out = merge_shards([tmp_path / "a.duckdb", tmp_path / "b.duckdb"], tmp_path / "merged" / "all.duckdb")
    assert out.is_file() and not [p for p in out.parent.iterdir() if p.name.startswith(".")]
    assert rows(out, "SELECT COUNT(*) FROM simulations") == [(2,)]
    assert rows(out, "SELECT COUNT(*) FROM episodes") == [(3,)]
    with open_stats_db(out) as con:
        # run:v3 played 4 agent-episodes with rewards 1, 0, 3, 0 -> 1.0 (not 2.0 over the stored rows)
        assert simulation_metric_mean(con, sim_a, "reward", "run", "v3") == pytest.approx(1.0)
        assert simulation_metric_mean(con, sim_b, "reward", "random", "builtin") == pytest.approx(2.0)
        assert simulation_metric_mean(con, sim_a, "reward", "random", "builtin") is None
        # the same rule written as plain SQL over the spec's tables
        (mean,) = con.execute("""
            SELECT AVG(COALESCE(m.value, 0)) FROM agent_policies p
            LEFT JOIN agent_metrics m ON m.episode_id = p.episode_id AND m.agent_id = p.agent_id
                AND m.metric = 'move.success'
            WHERE p.policy_key = 'run'""").fetchone()
        assert mean == pytest.approx(2.0)


def test_documented_reward_query_answers_for_a_policy_that_scored_zero(tmp_path):
    write_shard(tmp_path / "a.duckdb", ("run", "v3"))
    write_shard(tmp_path / "b.duckdb", ("zero", "v1"), rewards=((0.0, 0.0), (0.0, 0.0)))
    out = merge_shards([tmp_path / "a.duckdb", tmp_path / "b.duckdb"], tmp_path / "all.duckdb")
    # the reference's example query, as typed: the zero policy is there, and the mean counts zeros
    answer = rows(out, """SELECT policy_name, AVG(value) as avg_reward FROM agent_metrics
                          WHERE metric = 'reward' GROUP BY policy_name ORDER BY policy_name""")
    assert answer == [("run:v3", 1.0), ("zero:v1", 0.0)]
    # a file where nobody scored: `reward` still answers
    write_shard(tmp_path / "c.duckdb", ("zero", "v2"), rewards=((0.0, 0.0),))
    assert rows(tmp_path / "c.duckdb", "SELECT policy_name, AVG(value), COUNT(*) FROM agent_metrics "
                                       "WHERE metric = 'reward' GROUP BY ALL") == [("zero:v2", 0.0, 2)]


def storage_header(path):
    """(magic, storage version number) from a DuckDB file's main header."""
    head = path.read_bytes()[:20]
    return head[8:12], int.from_bytes(head[12:20], "little")


def test_files_are_written_in_the_duckdb_1_1_storage_format(tmp_path):
    write_shard(tmp_path / "a.duckdb")
    write_shard(tmp_path / "b.duckdb", ("other", "v1"))
    out = merge_shards([tmp_path / "a.duckdb", tmp_path / "b.duckdb"], tmp_path / "all.duckdb")
    plain = tmp_path / "plain.duckdb"
    duckdb.connect(str(plain)).close()  # what this DuckDB writes when not told otherwise
    for path in (tmp_path / "a.duckdb", out):
        # storage number 64 is the one DuckDB 0.10 through 1.1 read and write
        assert storage_header(path) == (b"DUCK", 64), path
        con = duckdb.connect()
        con.execute(f"ATTACH '{path}' AS db (READ_ONLY)")
        tags = dict(con.execute("SELECT database_name, tags FROM duckdb_databases() WHERE database_name = 'db'")
                    .fetchall())["db"]
        con.close()
        assert tags.get("storage_version", "").startswith("v1.0.0"), tags
    if storage_header(plain)[1] == 64:
        pytest.skip("this DuckDB writes the old format anyway; the check above cannot tell the difference")


def test_merging_a_shard_twice_is_refused(tmp_path):
    write_shard(tmp_path / "a.duckdb")
    with pytest.raises(StatsDBError, match="same rows twice"):
        merge_shards([tmp_path / "a.duckdb", tmp_path / "a.duckdb"], tmp_path / "out.duckdb")
    assert not (tmp_path / "out.duckdb").exists()


def test_missing_corrupt_and_foreign_files_are_one_line_errors(tmp_path):
    with pytest.raises(StatsDBError, match="no such stats DB") as missing:
        load_stats_db(str(tmp_path / "nope.duckdb"))
    (tmp_path / "bad.duckdb").write_bytes(b"not a database" * 100)
    with pytest.raises(StatsDBError, match="corrupt") as corrupt:
        load_stats_db(f"file://{tmp_path}/bad.duckdb")
    con = duckdb.connect(str(tmp_path / "other.duckdb"))
    con.execute("CREATE TABLE t (x INTEGER)")
    con.close()
    with pytest.raises(StatsDBError, match="not a stats DB") as foreign:
        load_stats_db(str(tmp_path / "other.duckdb"))
    with pytest.raises(StatsDBError, match="unknown URI scheme") as scheme:
        load_stats_db("ftp://host/x.duckdb")
    for error in (missing, corrupt, foreign, scheme):
        assert "\n" not in str(error.value)


def test_wandb_offline_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    with pytest.raises(StatsDBError, match="WANDB_MODE=offline") as error:
        load_stats_db("wandb://team/project/nav_stats:v1", cache_dir=tmp_path)
    assert "\n" not in str(error.value)
    assert "./train_dir/eval_<run>/stats.db" in str(error.value)  # what to type instead


@pytest.mark.parametrize("uri", ["wandb://stats/navigation_eval_v2", "wandb://artifacts/navigation_db"])
def test_reference_short_wandb_forms_say_what_they_need(tmp_path, monkeypatch, uri):
    monkeypatch.delenv("WANDB_ENTITY", raising=False)
    with pytest.raises(StatsDBError, match="set WANDB_ENTITY and WANDB_PROJECT") as error:
        load_stats_db(uri, cache_dir=tmp_path)
    assert "\n" not in str(error.value) and str(error.value).startswith(uri)
    monkeypatch.setenv("WANDB_ENTITY", "team")
    monkeypatch.setenv("WANDB_PROJECT", "proj")
    monkeypatch.setenv("WANDB_MODE", "offline")
    with pytest.raises(StatsDBError, match="WANDB_MODE=offline.*read by path instead"):
        load_stats_db(uri, cache_dir=tmp_path)


def test_local_export_copies_atomically(tmp_path):
    write_shard(tmp_path / "a.duckdb")
    dest = export_stats_db(tmp_path / "a.duckdb", str(tmp_path / "exported") + "/")
    assert dest == str(tmp_path / "exported" / "a.duckdb")
    assert rows(dest, "SELECT COUNT(*) FROM episodes") == [(2,)]


def test_s3_export_and_import_round_trip(tmp_path, s3_endpoint):
    import boto3

    boto3.client("s3").create_bucket(Bucket="stats-roundtrip")
    write_shard(tmp_path / "a.duckdb")
    uri = export_stats_db(tmp_path / "a.duckdb", "s3://stats-roundtrip/evals/nav.duckdb")
    assert uri == "s3://stats-roundtrip/evals/nav.duckdb"
    local = load_stats_db(uri, cache_dir=tmp_path / "cache")
    assert local.is_relative_to(tmp_path / "cache")
    assert rows(local, "SELECT COUNT(*) FROM agent_metrics WHERE metric = 'reward'") == [(4,)]
    with pytest.raises(StatsDBError, match="S3 object not found"):
        load_stats_db("s3://stats-roundtrip/evals/missing.duckdb", cache_dir=tmp_path / "cache")
    with pytest.raises(StatsDBError, match="bucket does not exist"):
        export_stats_db(tmp_path / "a.duckdb", "s3://no-such-bucket-here/x.duckdb")
