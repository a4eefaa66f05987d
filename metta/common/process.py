"""Child processes that do not outlive the process that started them.

A sweep worker trains each run in a child process (devops/train.sh -> tools/train.py). If
the worker dies, killed by SIGKILL or the OOM killer, no `finally` runs in it, and a child
left behind would go on training (and writing checkpoints) for a run the record says has
failed. `start_tied_child` starts the child

* in its own process group, so the worker can stop the child and everything the child
  started (torchrun ranks, env worker processes) with one `killpg` (`stop_child`); and
* on Linux, with a parent-death signal (`prctl(PR_SET_PDEATHSIG)`): the kernel sends the
  child SIGTERM the moment the worker dies, however it dies. SIGTERM makes tools/train.py
  finish its epoch, checkpoint and exit (docs/training.md), and torchrun pass it on to its
  ranks. Elsewhere there is no such signal; a dying worker's child is then only stopped
  when the worker exits normally.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
PARENT_DEATH_SIGNAL = signal.SIGTERM


def _child_setup() -> Callable[[], None]:
    """What the child runs between fork and exec: a process group of its own and, on Linux,
    SIGTERM when the parent dies.

    libc and its `prctl` are looked up here, in the parent: the child only makes plain
    system calls, since between fork and exec a multi-threaded parent's locks (the worker
    has a heartbeat thread) may be held by threads that do not exist in the child."""
    prctl = None
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def setup() -> None:
        os.setpgid(0, 0)  # (Popen's process_group= needs Python 3.11)
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(PARENT_DEATH_SIGNAL), 0, 0, 0)
            # The parent may have died between fork and prctl: then no signal will ever come.
            if os.getppid() != parent:
                os._exit(1)

    return setup


def start_tied_child(command: list[str], **popen_kwargs) -> subprocess.Popen:
    """`subprocess.Popen(command, ...)` in a new process group, sent SIGTERM when this
    process dies (Linux)."""
    return subprocess.Popen(command, preexec_fn=_child_setup(), **popen_kwargs)


def stop_child(process: subprocess.Popen, grace_s: float = 30.0) -> None:
    """Stop a child from `start_tied_child` and its process group: SIGTERM (train.py then
    checkpoints), SIGKILL after `grace_s`."""
    if process.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue
