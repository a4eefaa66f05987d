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
