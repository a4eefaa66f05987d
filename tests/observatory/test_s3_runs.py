"""Runs under an s3:// train dir, against a real local S3 server: read like local runs,
unchanged objects not fetched again, a grown metrics.jsonl fetched from its old end."""

from __future__ import annotations

import json
import time

import pytest

from metta.common.uri import make_s3_client
from metta.observatory.job import split_train_dirs
from metta.observatory.runs import RunStore
from mettagrid.errors import ConfigError


def row(i: int) -> bytes:
    return (json.dumps({"agent_steps": 512 * i, "time": float(i), "overview/reward": i / 10}) + "\n").encode()


def test_s3_runs_are_mirrored_and_polled_without_refetching(s3_endpoint, tmp_path):
    client = make_s3_client()
    client.create_bucket(Bucket="obs-runs")
    put = lambda key, body: client.put_object(Bucket="obs-runs", Key=f"team/runs/{key}", Body=body)  # noqa: E731
    put("r1/metrics.jsonl", row(1) + row(2))
    put("r1/config.yaml", b"env: {name: mettagrid/navigation}\nagent: {name: fast}\n")
    put("r1/heartbeat.json", json.dumps({"status": "running", "time": time.time()}).encode())
    put("r1/checkpoints/r1:v1.pt", b"not fetched")  # the runs page needs no weights
    store = RunStore([], ["s3://obs-runs/team/runs"], tmp_path / "mirror", min_poll_s=0)
    mirror = store.mirrors[0]

    summary = {s["name"]: s for s in store.summaries()}["r1"]
    assert (summary["epochs"], summary["reward"], summary["status"]) == (2, 0.2, "running")
    assert (summary["env"], summary["agent"]) == ("mettagrid/navigation", "fast")
    assert mirror.gets == 3 and store.problems() == []

    store.refresh()  # nothing changed in the bucket: one LIST, no GET
    assert mirror.gets == 3

    fetched = mirror.bytes_fetched
    put("r1/metrics.jsonl", row(1) + row(2) + row(3))
    put("r1/heartbeat.json", json.dumps({"status": "finished", "time": time.time()}).encode())
    run = store.get("r1")
    assert run.metrics.steps == [512.0, 1024.0, 1536.0]
    metrics_and_beat = mirror.bytes_fetched - fetched
    beat_size = client.head_object(Bucket="obs-runs", Key="team/runs/r1/heartbeat.json")["ContentLength"]
    assert metrics_and_beat == len(row(3)) + 1 + beat_size  # the new line (and one byte to check it), not the file
    assert run.status(time.time())[0] == "finished"

    put("r1/metrics.jsonl", row(7))  # rewritten shorter (a restarted run): fetched whole
    assert store.get("r1").metrics.steps == [512.0 * 7]


def test_an_unreadable_bucket_is_one_line_and_keeps_the_store_serving(s3_endpoint, tmp_path):
    store = RunStore([], ["s3://no-such-bucket-obs/runs"], tmp_path / "mirror", min_poll_s=0)
    assert store.summaries() == []
    assert store.problems() == ["s3://no-such-bucket-obs/runs: S3 bucket does not exist"]


@pytest.mark.parametrize(("entries", "message"), [
    (["s3://"], "observatory.train_dirs[0]: s3://: an s3:// URI needs a bucket name"),
    (["s3://b/runs"], "observatory.train_dirs: give at least one local directory"),
    (["train_dir", "gs://b/runs"], "observatory.train_dirs[1]: gs://b/runs: unknown URI scheme 'gs'"),
])
def test_train_dirs_are_checked_in_one_line(entries, message):
    with pytest.raises(ConfigError) as caught:
        split_train_dirs(entries)
    assert str(caught.value).startswith(message)


def test_split_keeps_local_dirs_first(tmp_path):
    local, remote = split_train_dirs([str(tmp_path), "s3://b/runs"])
    assert (local, remote) == ([tmp_path], ["s3://b/runs"])


def test_s3_checkpoints_list_from_their_sidecars_and_the_weights_stay_in_the_bucket(s3_endpoint, tmp_path):
    from metta.observatory.runs import checkpoints

    client = make_s3_client()
    client.create_bucket(Bucket="obs-ckpts")
    put = lambda key, body: client.put_object(Bucket="obs-ckpts", Key=f"runs/{key}", Body=body)  # noqa: E731
    put("r1/metrics.jsonl", row(1))
    put("r1/checkpoints/r1:v1.pt", b"weights")
    put("r1/checkpoints/r1:v1.json", json.dumps({"epoch": 1, "agent_steps": 512, "score": 0.5}).encode())
    put("r1/checkpoints/trainer_state.pt", b"optimizer")
    put("r1/checkpoints/.metta-tmp.1.00000000.0123abcd.r1:v2.json.tmp", b"half")
    put("r1/replays/r1_e00001.json.z", b"replay bytes")
    store = RunStore([], ["s3://obs-ckpts/runs"], tmp_path / "mirror", min_poll_s=0)

    run = store.get("r1")
    assert run.remote == "s3://obs-ckpts/runs/r1"
    assert sorted(p.name for p in (run.path / "checkpoints").iterdir()) == ["r1:v1.json"]  # no weights, no state
    assert (run.path / "replays" / "r1_e00001.json.z").read_bytes() == b"replay bytes"
    [listed] = checkpoints(run.path, run.remote)
    assert listed["path"] == "s3://obs-ckpts/runs/r1/checkpoints/r1:v1.pt"
    assert (listed["version"], listed["epoch"], listed["score"]) == (1, 1, 0.5)
    assert store.summaries()[0]["checkpoints"] == 1


def test_an_s3_runs_checkpoint_is_evaluated_from_the_bucket(s3_endpoint, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    import duckdb

    from metta.observatory.server import Observatory
    from tests.tools.test_train_tool import TINY

    root = Path(__file__).resolve().parents[2]
    local = tmp_path / "local"
    trained = subprocess.run([sys.executable, str(root / "tools" / "train.py"), "run=s3run", f"train_dir={local}",
                              "trainer.total_timesteps=512", *TINY], capture_output=True, text=True, timeout=600,
                             check=False)
    assert trained.returncode == 0, trained.stderr
    client = make_s3_client()
    client.create_bucket(Bucket="obs-eval")
    for path in (local / "s3run").rglob("*"):
        if path.is_file():
            client.upload_file(str(path), "obs-eval", f"runs/{path.relative_to(local)}")
    app = Observatory([tmp_path / "empty"], tmp_path / "state", s3_train_dirs=["s3://obs-eval/runs"])
    try:
        rows = app.checkpoints("s3run")["checkpoints"]
        assert rows and all(r["path"].startswith("s3://obs-eval/runs/s3run/checkpoints/") for r in rows)
        job = app.evaluate({"run": "s3run", "checkpoint": rows[-1]["path"], "suite": "smoke_test"})
        deadline = time.monotonic() + 400
        while (state := app.queue.get(job["id"]))["status"] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert state["status"] == "done", app.queue.log(job["id"])
        with duckdb.connect(state["meta"]["stats_db"], read_only=True) as db:
            policies = {r[0] for r in db.execute("SELECT DISTINCT policy_key FROM simulations").fetchall()}
        assert any("s3run" in p for p in policies), policies
    finally:
        app.close()
