"""The shared sweep record: exclusive run ids under concurrency (files and S3), abandoned runs
observed as failed, first observation wins."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from metta.sweep.store import SweepStore


def _claim_many(args) -> list[str]:
    root, count = args
    store = SweepStore(root, "race")
    return [store.claim_next() for _ in range(count)]


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_concurrent_workers_never_share_a_run_id(tmp_path, backend, request):
    if backend == "s3":
        import boto3

        endpoint = request.getfixturevalue("s3_endpoint")
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="sweep-race")
        root = "s3://sweep-race/sweeps"
    else:
        root = str(tmp_path / "sweeps")
    workers, each = 4, 6
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        claimed = [run for batch in pool.map(_claim_many, [(root, each)] * workers) for run in batch]
    assert len(claimed) == len(set(claimed)) == workers * each
    assert sorted(int(c.rsplit(".", 1)[1]) for c in claimed) == list(range(workers * each))
    assert [r.run_id for r in SweepStore(root, "race").runs()] == [f"race.r.{n}" for n in range(workers * each)]


def test_sweep_is_created_once_and_observations_are_final(tmp_path):
    store = SweepStore(str(tmp_path), "s")
    assert store.create_sweep({"metric": "reward"}) is True
    assert store.create_sweep({"metric": "other"}) is False
    assert store.sweep_config() == {"metric": "reward"}
    run = store.claim_next("w1")
    store.write_suggestion(run, {"params": {"trainer.learning_rate": 0.001}})
    assert store.record_observation(run, {"score": 1.0, "cost": 2.0, "failed": False}) is True
    assert store.record_observation(run, {"score": 9.0, "cost": 2.0, "failed": False}) is False
    [record] = store.runs()
    assert record.done and record.observation["score"] == 1.0 and record.claim["worker"] == "w1"


def test_a_run_whose_worker_stopped_is_observed_as_failed(tmp_path):
    store = SweepStore(str(tmp_path), "s")
    alive, dead = store.claim_next("a"), store.claim_next("b")
    for run in (alive, dead):
        store.write_suggestion(run, {"params": {"x": 1}})
    store.heartbeat(alive)
    time.sleep(1.2)
    store.heartbeat(alive)
    assert store.fail_abandoned(timeout=1.0) == [dead]
    records = {r.run_id: r for r in store.runs()}
    assert records[dead].observation["failed"] is True and "worker stopped" in records[dead].observation["reason"]
    assert not records[alive].done
    assert store.fail_abandoned(timeout=1.0) == []  # recorded once


def test_a_sweep_dir_with_another_scheme_is_refused_not_made_a_local_directory(tmp_path, monkeypatch):
    from mettagrid.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^sweep_dir: gs://bucket/sweeps: use a local directory or an s3://"):
        SweepStore("gs://bucket/sweeps", "s")
    assert not (tmp_path / "gs:").exists()
    store = SweepStore(f"file://{tmp_path}/sweeps", "s")
    assert store.create_sweep({"metric": "reward"}) and (tmp_path / "sweeps" / "s" / "sweep.yaml").is_file()


def test_one_run_is_read_by_id(tmp_path):
    store = SweepStore(str(tmp_path), "s")
    run = store.claim_next("w")
    store.write_suggestion(run, {"params": {"x": 1}})
    assert store.run(run).params == {"x": 1} and store.run(run).number == 0
    assert store.run("s.r.7") is None and store.run("other.r.0") is None and store.run("s.r.x") is None


def test_a_run_whose_worker_process_is_gone_fails_at_once_and_others_wait_for_the_timeout(tmp_path):
    import subprocess
    import sys

    store = SweepStore(str(tmp_path), "s")
    gone, live, unnamed = store.claim_next("a"), store.claim_next("b"), store.claim_next("c")
    for run in (gone, live, unnamed):
        store.write_suggestion(run, {"params": {"x": 1}})
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store.heartbeat(gone, worker_pid=int(finished.stdout))  # a worker that has exited
    store.heartbeat(live, worker_pid=os.getpid())
    store.heartbeat(unnamed)  # sweep_init's claim: no worker process trains it (devops/train.sh by hand)
    assert store.fail_abandoned(timeout=600) == [gone]
    assert "is gone" in store.run(gone).observation["reason"]
    assert not store.run(live).done and not store.run(unnamed).done
