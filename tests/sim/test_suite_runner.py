"""run_suite: episodes side by side, NPC shares, skipped envs, shards merged into one DB."""

import io

import numpy as np
import pytest

from metta.agent.policy_uri import resolve_policies
from metta.sim.simulation_config import SimulationConfig, SimulationSuiteConfig
from metta.sim.stats_db import open_stats_db
from metta.sim.suite_runner import policy_agent_rows, run_suite
from tests.sim.test_builtin_policies import make_env, save_checkpoints

NAV = {"env": "mettagrid/navigation/evals/emptyspace", "env_overrides": ["game.max_steps=30"]}
ARENA = {"env": "mettagrid/arena/basic_easy_shaped", "env_overrides": ["game.max_steps=20"]}


def suite(**simulations):
    return SimulationSuiteConfig(name="tiny", num_episodes=2, max_time_s=60, simulations=simulations)


def test_agent_rows_give_each_env_its_share():
    rows = policy_agent_rows(num_envs=3, num_agents=24, pct=0.25, seed=0).reshape(3, 24)
    assert rows.sum(axis=1).tolist() == [6, 6, 6]
    assert not np.array_equal(rows[0], rows[1])  # drawn per env
    assert policy_agent_rows(2, 1, 0.1, 0).tolist() == [True, True]  # at least one agent each
    assert policy_agent_rows(2, 4, 1.0, 0).all()


def test_npc_share_needs_an_npc_policy():
    with pytest.raises(ValueError, match="needs npc_policy_uri"):
        SimulationConfig(env="mettagrid/arena/basic", policy_agents_pct=0.5)


def test_builtins_with_an_npc_share_are_recorded_per_agent(tmp_path):
    specs = resolve_policies("metta://policy/random") + resolve_policies("metta://policy/scripted")
    arena = {**ARENA, "npc_policy_uri": "metta://policy/simple", "policy_agents_pct": 0.25, "num_episodes": 1}
    results = run_suite(specs, suite(nav=SimulationConfig(**NAV), arena=SimulationConfig(**arena)),
                        tmp_path / "eval.duckdb", num_workers=1)
    assert [r.spec.name for r in results] == ["random", "scripted"]
    assert set(results[1].metrics) == {"reward_avg", "nav/reward", "arena/reward"}
    assert results[1].metrics["nav/reward"] > results[0].metrics["nav/reward"]
    with open_stats_db(tmp_path / "eval.duckdb") as con:
        assert con.execute("SELECT COUNT(*) FROM simulations").fetchone() == (4,)
        assert con.execute("SELECT COUNT(*) FROM episodes").fetchone() == (2 * 2 + 2 * 1,)
        shares = con.execute("""
            SELECT s.policy_key, p.policy_key, COUNT(*) FROM agent_policies p
            JOIN episodes e ON e.id = p.episode_id JOIN simulations s ON s.id = e.simulation_id
            WHERE s.name = 'arena' GROUP BY ALL ORDER BY ALL""").fetchall()
        assert shares == [("random", "random", 6), ("random", "simple", 18),
                          ("scripted", "scripted", 6), ("scripted", "simple", 18)]
        assert con.execute("SELECT DISTINCT npc_policy_key FROM simulations WHERE name = 'arena'").fetchall() == [
            ("simple",)]
        steps = con.execute("SELECT DISTINCT step_count FROM episodes JOIN simulations s ON s.id = simulation_id "
                            "WHERE s.name = 'nav' AND s.policy_key = 'random'").fetchall()
        assert steps == [(30,)]  # desync off: every episode runs its full length together


def test_a_policy_that_cannot_play_a_simulation_is_skipped_with_one_line(tmp_path):
    manager = save_checkpoints(tmp_path / "nav", make_env(), epochs=(1,))
    specs = resolve_policies(str(manager.run_dir))
    log = io.StringIO()
    [result] = run_suite(specs, suite(nav=SimulationConfig(**NAV), arena=SimulationConfig(**ARENA)),
                         tmp_path / "eval.duckdb", num_workers=1, num_episodes=1, log=log)
    assert list(result.metrics) == ["reward_avg", "nav/reward"]
    lines = log.getvalue().splitlines()
    assert len(lines) == 1 and "skipping tiny/arena for nav:v1" in lines[0]
    with open_stats_db(tmp_path / "eval.duckdb") as con:
        assert con.execute("SELECT name, policy_key, policy_version FROM simulations").fetchall() == [
            ("nav", "nav", "v1")]


def test_time_budget_stops_a_simulation(tmp_path):
    slow = SimulationConfig(env="mettagrid/navigation/evals/emptyspace", max_time_s=1e-6)
    log = io.StringIO()
    [result] = run_suite(resolve_policies("metta://policy/random"), suite(slow=slow), tmp_path / "e.duckdb",
                         num_workers=1, log=log)
    assert "time budget spent after 0 finished episode(s)" in log.getvalue()
    assert result.metrics == {"reward_avg": None, "slow/reward": None}


def test_worker_processes_write_shards_that_merge_into_one_db(tmp_path):
    specs = resolve_policies("metta://policy/random") + resolve_policies("metta://policy/simple")
    results = run_suite(specs, suite(nav=SimulationConfig(**NAV)), tmp_path / "out" / "eval.duckdb",
                        num_workers=2, num_episodes=1)
    assert all(r.metrics["nav/reward"] is not None for r in results)
    with open_stats_db(tmp_path / "out" / "eval.duckdb") as con:
        assert con.execute("SELECT COUNT(DISTINCT simulation_id) FROM episodes").fetchone() == (2,)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["eval.duckdb"]  # shards cleaned up
