"""Sweep phases, suggestions from the shared record, and the overrides handed to training."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metta.sweep.lifecycle import SweepConfig, current_phase, nested, override_args, parse_job, prepare_run
from metta.sweep.store import SweepStore

PARAMETERS = {"trainer": {"learning_rate": {"distribution": "log_normal", "min": 1e-4, "max": 1e-2, "mean": 1e-3,
                                            "scale": "auto"},
                          "batch_size": {"distribution": "uniform_pow2", "min": 256, "max": 4096, "mean": 1024,
                                         "scale": "auto"}}}
SCHEDULE = {"phases": [
    {"name": "cheap", "num_runs": 2, "sweep": {"protein": {"max_suggestion_cost": 10},
                                               "parameters": {"trainer": {"batch_size": {"mean": 256}}}}},
    {"name": "dear", "num_runs": 3, "sweep": {"protein": {"max_suggestion_cost": 100}}},
]}


def test_phases_follow_the_count_of_finished_runs_and_merge_their_overrides():
    sweep = SweepConfig(parameters=PARAMETERS, schedule=SCHEDULE, protein={"random_suggestions": 4})
    names = [current_phase(sweep, done)[0] for done in range(7)]
    assert names == ["cheap", "cheap", "dear", "dear", "dear", "dear", "dear"]  # the last phase stays
    _, cheap = current_phase(sweep, 0)
    assert cheap.protein == {"random_suggestions": 4, "max_suggestion_cost": 10}
    assert cheap.parameters["trainer"]["batch_size"]["mean"] == 256
    assert cheap.parameters["trainer"]["batch_size"]["max"] == 4096  # untouched keys kept
    _, dear = current_phase(sweep, 3)
    assert dear.parameters["trainer"]["batch_size"]["mean"] == 1024
    assert current_phase(SweepConfig(parameters=PARAMETERS), 5)[0] is None


def test_prepare_run_uses_the_phase_fails_dead_runs_and_stops_at_max_runs(tmp_path):
    job = parse_job({"sweep_name": "p", "sweep_dir": str(tmp_path), "seed": 3,
                     "settings": {"heartbeat_timeout_s": 1.0},
                     "sweep": {"parameters": PARAMETERS, "schedule": SCHEDULE, "max_runs": 3}})
    store = SweepStore(str(tmp_path), "p")
    run0, params0, phase0 = prepare_run(store, job)
    assert (run0, phase0) == ("p.r.0", "cheap") and params0 == {"trainer.learning_rate": 0.001, "trainer.batch_size": 256}
    assert override_args(params0) == ["++trainer.learning_rate=0.001", "++trainer.batch_size=256"]
    assert nested(params0) == {"trainer": {"learning_rate": 0.001, "batch_size": 256}}
    run1, params1, _ = prepare_run(store, job)  # run 0 still in flight: a different suggestion
    assert run1 == "p.r.1" and params1 != params0
    time.sleep(1.2)  # nobody beats for either run: both workers are dead
    run2, _, _ = prepare_run(store, job)
    records = {r.run_id: r for r in store.runs()}
    assert records["p.r.0"].observation["failed"] and records["p.r.1"].observation["failed"]
    assert run2 == "p.r.2" and prepare_run(store, job) is None  # max_runs reached


def test_the_phase_counts_every_finished_run_not_only_those_loaded_for_protein(tmp_path):
    job = parse_job({"sweep_name": "q", "sweep_dir": str(tmp_path), "settings": {"max_observations_to_load": 1},
                     "sweep": {"parameters": PARAMETERS, "schedule": SCHEDULE}})
    store = SweepStore(str(tmp_path), "q")
    for score in (1.0, 2.0):
        run_id, params, _ = prepare_run(store, job)
        store.record_observation(run_id, {"params": params, "score": score, "cost": 1.0, "failed": False})
    assert prepare_run(store, job)[2] == "dear"  # 2 finished runs: "cheap" (num_runs 2) is over


def test_spread_pools_episodes_for_reward_avg_and_needs_two():
    from metta.sim.suite_runner import PolicyResult

    result = PolicyResult(spec=None, episodes={"a/reward": [1.0, 2.0, 3.0], "b/reward": [5.0]})
    assert result.spread("reward_avg") == (pytest.approx(1.707825127659933), 4)  # std of [1, 2, 3, 5], ddof=1
    assert result.spread("a/reward") == (1.0, 3)
    assert result.spread("b/reward") == (None, 1)
    assert result.spread("episode_length") == (None, 0)


def test_evaluate_run_records_the_score_std_and_n_across_episodes(tmp_path):
    """A real tiny run scored on smoke_test with 3 episodes (its arena simulation is skipped: a
    navigation policy lacks arena's actions): the recorded std and n are those of the
    per-episode rewards in the stats DB the evaluation wrote."""
    import duckdb
    import numpy as np

    from metta.sweep.lifecycle import evaluate_run
    from tests.tools.test_train_tool import TINY

    job = parse_job({"sweep_name": "m", "sweep_dir": str(tmp_path / "sweeps"), "train_dir": str(tmp_path / "train"),
                     "sim_name": "smoke_test", "num_episodes": 3, "wandb_mode": "off",
                     "sweep": {"parameters": PARAMETERS, "metric": "reward_avg"}})
    store = SweepStore(job.sweep_dir, "m")
    store.create_sweep(job.sweep.model_dump())
    run_id, _, _ = prepare_run(store, job)
    root = Path(__file__).resolve().parents[2]
    trained = subprocess.run([sys.executable, str(root / "tools" / "train.py"), f"run={run_id}",
                              f"train_dir={job.train_dir}", "trainer.total_timesteps=512", *TINY],
                             capture_output=True, text=True, timeout=600, check=False,
                             env={**os.environ, "PYTHONPATH": str(root)})
    assert trained.returncode == 0, trained.stderr
    observation = evaluate_run(store, job, run_id)
    with duckdb.connect(str(Path(job.train_dir) / run_id / "sweep_eval.duckdb"), read_only=True) as db:
        per_episode = [row[0] for row in db.execute(
            "SELECT AVG(COALESCE(m.value, 0)) FROM agent_policies p "
            "LEFT JOIN agent_metric_values m ON m.episode_id = p.episode_id AND m.agent_id = p.agent_id "
            "AND m.metric = 'reward' GROUP BY p.episode_id").fetchall()]
    assert len(per_episode) == 3 and observation["score_n"] == 3
    assert observation["score_std"] == pytest.approx(float(np.std(per_episode, ddof=1)), abs=1e-9)
    assert observation["score"] == pytest.approx(float(np.mean(per_episode)))
    assert store.run(run_id).observation["score_n"] == 3  # in the shared record, for the dashboard
