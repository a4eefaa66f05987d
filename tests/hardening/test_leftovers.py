"""No leftovers: the temp file of an atomic write whose writer was killed is removed when a
tool next starts in that directory, and the temp file of a writer still at work is not.

Run: PYTHONPATH=. .venv/bin/python -m pytest tests/hardening/test_leftovers.py -x
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from metta.common.uri import STALE_TEMP_AGE_S, TEMP_PREFIX, remove_stale_temp_files
from tests.hardening.bad_input import REPO, run_command
from tests.hardening.test_bad_checkpoints import TINY

# A writer that stops half-way through an atomic write and waits to be killed.
HALF_WRITE = """
import sys, time
from metta.common.uri import atomic_write

def write(file):
    file.write(b"half a checkpoint")
    file.flush()
    print("writing", flush=True)
    time.sleep(600)

atomic_write(sys.argv[1], write)
"""


def start_half_write(target: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HALF_WRITE, str(target)], cwd=REPO, stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert process.stdout.readline().strip() == "writing"
    return process


def temp_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith(TEMP_PREFIX))


def test_a_killed_writers_temp_file_goes_and_a_live_writers_stays(tmp_path):
    killed = start_half_write(tmp_path / "a.pt")
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    live = start_half_write(tmp_path / "b.pt")
    try:
        leftover, in_progress = temp_files(tmp_path)  # names sort by pid: not known which is which
        if str(killed.pid) not in leftover.name:
            leftover, in_progress = in_progress, leftover
        assert leftover.name.endswith(".a.pt.tmp") and str(killed.pid) in leftover.name
        unrelated = tmp_path / ".hidden_notes"
        unrelated.write_text("not ours")
        assert remove_stale_temp_files(tmp_path) == [leftover]
        assert temp_files(tmp_path) == [in_progress] and unrelated.is_file()
        assert not (tmp_path / "a.pt").exists() and not (tmp_path / "b.pt").exists()
    finally:
        live.kill()
        live.wait()


def test_an_old_temp_file_goes_whoever_wrote_it(tmp_path):
    # A writer on another machine (other host key): its pid means nothing here, only age counts.
    other_host = tmp_path / f"{TEMP_PREFIX}1.00000000.0123abcd.x.pt.tmp"
    other_host.write_bytes(b"x")
    legacy = tmp_path / ".x.pt.89abcdef.tmp"  # named before the prefix existed
    legacy.write_bytes(b"x")
    assert remove_stale_temp_files(tmp_path) == []
    old = time.time() - STALE_TEMP_AGE_S - 10
    for path in (other_host, legacy):
        os.utime(path, (old, old))
    assert sorted(remove_stale_temp_files(tmp_path)) == sorted([other_host, legacy])


def test_train_removes_what_a_killed_write_left_in_its_run_directory(tmp_path):
    checkpoints = tmp_path / "run" / "checkpoints"
    killed = start_half_write(checkpoints / "run:v1.pt")
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    [leftover] = temp_files(checkpoints)
    live = start_half_write(checkpoints / "run:v9.pt")  # another writer at work: left alone
    try:
        result = run_command(("tools/train.py", "run=run", f"train_dir={tmp_path}", "trainer.total_timesteps=512",
                              *TINY))
        assert result.returncode == 0, result.stderr
        remaining = temp_files(checkpoints)
        assert leftover not in remaining and len(remaining) == 1 and str(live.pid) in remaining[0].name
    finally:
        live.kill()
        live.wait()


def test_a_dead_writers_work_directory_goes_and_a_live_ones_stays(tmp_path):
    # sim.py's shard directories are named like temp files (suite_runner: temp_path_for).
    from mettagrid.atomic_files import temp_path_for

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    dead_pid = int(finished.stdout)
    mine = temp_path_for(tmp_path / "eval.duckdb.shards")
    mine.mkdir()
    (mine / "shard_0000.duckdb").write_bytes(b"x")
    dead = tmp_path / mine.name.replace(f".{os.getpid()}.", f".{dead_pid}.", 1)
    dead.mkdir()
    (dead / "shard_0000.duckdb").write_bytes(b"x")
    assert remove_stale_temp_files(tmp_path) == [dead]
    assert not dead.exists() and (mine / "shard_0000.duckdb").is_file()
