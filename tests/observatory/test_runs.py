"""The Observatory's reading of runs without a browser: heartbeat statuses, incremental and
torn metrics.jsonl, thinned curves that keep real rows, and the launch checks."""

from __future__ import annotations

import json
import time

import pytest

from metta.observatory.launch import check
from metta.observatory.runs import Run, RunStore, checkpoints
from metta.rl.heartbeat import beat


def write_beat(run_dir, status: str, age_s: float) -> None:
    (run_dir / "heartbeat.json").write_text(json.dumps({"status": status, "time": time.time() - age_s}))


def test_heartbeat_exit_status_follows_the_exception(tmp_path):
    beat(tmp_path, "exit", 3, 1536)
    assert json.loads((tmp_path / "heartbeat.json").read_text())["status"] == "finished"
    with pytest.raises(RuntimeError):
        try:
            raise RuntimeError("out of memory")
        finally:
            beat(tmp_path, "exit", 3, 1536)
    record = json.loads((tmp_path / "heartbeat.json").read_text())
    assert (record["status"], record["epoch"], record["agent_steps"]) == ("failed", 3, 1536)
    beat(tmp_path / "other", "running", 1, 1, enabled=False)  # other ranks write nothing
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize(("status", "age", "expected"), [
    ("running", 5, "running"), ("running", 3600, "failed"), ("finished", 3600, "finished"), ("failed", 1, "failed")])
def test_status_from_the_heartbeat(tmp_path, status, age, expected):
    (tmp_path / "metrics.jsonl").write_text("")
    write_beat(tmp_path, status, age)
    assert Run("r", tmp_path).status(time.time())[0] == expected


def test_metrics_are_read_incrementally_and_a_torn_line_waits(tmp_path):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    path = run_dir / "metrics.jsonl"
    path.write_text(json.dumps({"agent_steps": 512, "time": 1.0, "overview/reward": 0.5}) + "\n"
                    + '{"agent_steps": 1024, "time": 2.0, "overview/rew')
    store = RunStore([tmp_path])
    run = store.get("r")
    assert run.metrics.steps == [512.0] and run.metrics.series["overview/reward"] == [0.5]
    with open(path, "a") as file:
        file.write('ard": 0.75, "losses/entropy": 2.0}\n')
    run = store.get("r")
    assert run.metrics.steps == [512.0, 1024.0]
    assert run.metrics.series["overview/reward"] == [0.5, 0.75]
    assert run.metrics.series["losses/entropy"] == [None, 2.0]  # a key that appears later
    summary = run.summary(time.time())
    assert (summary["steps"], summary["reward"], summary["epochs"]) == (1024.0, 0.75, 2)


def test_thinned_curves_are_real_rows_and_keep_the_last(tmp_path):
    rows = [{"agent_steps": i * 10, "time": float(i), "x": float(i * i)} for i in range(1, 11)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = Run("r", tmp_path)
    run.refresh()
    curves = run.curves(["x"], 0, 4)
    assert curves["steps"] == [10.0, 50.0, 90.0, 100.0]
    assert curves["series"]["x"] == [1.0, 25.0, 81.0, 100.0]


def test_launch_check_names_the_key_in_one_line():
    overrides, problems = check({"run": "bad name!", "env": "mettagrid/navigation", "overrides": "trainer.nope=1"})
    assert overrides == ["env=mettagrid/navigation", "trainer.nope=1"]
    assert problems[0] == "run: 'bad name!' is not a run name (letters, digits, . _ -)"
    assert problems[1].startswith("command line: trainer.nope: unknown key")
    assert check({"run": "ok", "env": "mettagrid/navigation", "overrides": "train_dir=/x"})[1] == \
        ["overrides: train_dir is set by the form, not an override"]


def test_a_local_sidecar_without_its_weights_names_no_checkpoint(tmp_path):
    """A checkpoint deleted by hand leaves its sidecar: the page must not offer to evaluate it.
    A mirrored s3:// run keeps only sidecars here, and each names its weights in the bucket."""
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    for name in ("run:v1", "run:v2"):
        (folder / f"{name}.json").write_text(json.dumps({"epoch": int(name[-1])}))
    (folder / "run:v2.pt").write_bytes(b"weights")
    (folder / "trainer_state.pt").write_bytes(b"state")
    assert [(c["name"], c["path"]) for c in checkpoints(tmp_path / "run")] == [("run:v2", str(folder / "run:v2.pt"))]
    remote = [(c["name"], c["path"]) for c in checkpoints(tmp_path / "run", "s3://bucket/runs/run")]
    assert remote == [("run:v1", "s3://bucket/runs/run/checkpoints/run:v1.pt"), ("run:v2", str(folder / "run:v2.pt"))]
