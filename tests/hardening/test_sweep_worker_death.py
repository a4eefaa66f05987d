"""A sweep worker that dies takes its training child with it, and the next worker started on
the machine records the dead worker's run as failed at once (not after the heartbeat timeout).

Run: PYTHONPATH=. .venv/bin/python -m pytest tests/hardening/test_sweep_worker_death.py -x
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from metta.sweep.store import SweepStore
from tests.hardening.bad_input import REPO, run_command
from tests.hardening.test_bad_checkpoints import TINY

ENDLESS = "sweep_job_overrides=" + json.dumps([*TINY, "trainer.total_timesteps=100_000_000"])


def worker_args(tmp_path: Path) -> list[str]:
    return ["sweep_name=doomed", f"sweep_dir={tmp_path}/sweeps", f"train_dir={tmp_path}/train", "sweep.max_runs=1",
            "sim_name=smoke_test", "num_episodes=1", "wandb_mode=off", ENDLESS]


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found += [int(child) for child in text.split()]
    return found


def alive(pid: int) -> bool:
    """Running, or stopped, but neither gone nor a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_a_killed_worker_takes_its_training_with_it_and_its_run_is_failed(tmp_path):
    worker = subprocess.Popen([str(REPO / "tools" / "sweep_execute.py"), *worker_args(tmp_path)], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    trainer = None
    try:
        [trainer] = wait_for(lambda: children(worker.pid), 60, "the training child")
        # Kill the worker mid-training: the child has started its epochs.
        wait_for(lambda: (tmp_path / "train" / "doomed.r.0" / "metrics.jsonl").is_file(), 120, "the first epoch")
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        wait_for(lambda: not alive(trainer), 20, f"the training child {trainer} to stop")
    finally:
        if trainer is not None and alive(trainer):
            os.kill(trainer, signal.SIGKILL)
        if worker.poll() is None:
            worker.kill()
    store = SweepStore(f"{tmp_path}/sweeps", "doomed")
    [record] = store.runs()
    assert not record.done  # nobody was left to record it

    # The next worker started here sees the dead worker's pid and fails its run at once
    # (the heartbeat timeout is 600 s), then stops: max_runs is reached.
    nxt = run_command(("tools/sweep_execute.py", *worker_args(tmp_path)), timeout=120)
    assert nxt.returncode == 0, nxt.stderr
    assert "max_runs (1) reached" in nxt.stderr
    [record] = store.runs()
    assert record.observation["failed"] is True
    assert f":{worker.pid} is gone" in record.observation["reason"]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_stopping_a_tied_child_stops_what_it_started_too():
    from metta.common.process import start_tied_child, stop_child

    # A shell that starts a grandchild and waits: the worker's Ctrl-C path must stop both.
    child = start_tied_child(["sh", "-c", "sleep 300 & wait"])
    [grandchild] = wait_for(lambda: children(child.pid), 10, "the grandchild")
    assert os.getpgid(grandchild) == child.pid != os.getpgid(0)  # its own group, shared with what it starts
    stop_child(child, grace_s=5)
    wait_for(lambda: not alive(grandchild), 10, "the grandchild to stop")
    assert child.returncode == -signal.SIGTERM
