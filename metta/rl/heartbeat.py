"""A run's heartbeat: `<run_dir>/heartbeat.json`, rewritten once per epoch and at exit.

Readers (the Observatory) tell running, finished and failed runs apart from it: "running"
with a recent time is alive, "running" long after its last beat means the process died
without reaching its exit (killed, out of memory), "finished"/"failed" are written on exit.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

from metta.common.uri import atomic_write_bytes

FILE = "heartbeat.json"


def beat(run_dir: Path, status: str, epoch: int, agent_steps: int, enabled: bool = True) -> None:
    """Write the heartbeat atomically (a reader never sees half a file). `status` "exit"
    resolves to "finished" or "failed" from the exception being raised, if any, so the
    trainer's `finally:` needs one line."""
    if not enabled:
        return
    if status == "exit":
        status = "failed" if sys.exc_info()[0] not in (None, KeyboardInterrupt) else "finished"
    record = {"status": status, "time": time.time(), "epoch": epoch, "agent_steps": agent_steps,
              "pid": os.getpid(), "host": socket.gethostname()}
    try:
        atomic_write_bytes(Path(run_dir) / FILE, json.dumps(record).encode())
    except OSError:  # a full disk must not stop training; the reader then sees a stale beat
        pass
