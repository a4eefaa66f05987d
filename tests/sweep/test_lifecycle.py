"""Sweep phases, suggestions from the shared record, and the overrides handed to training."""

from __future__ import annotations

import time

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
