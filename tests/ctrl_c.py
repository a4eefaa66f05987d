"""Stopping a tool a test started the way a user does: Ctrl-C, then wait for it to exit."""

from __future__ import annotations

import signal
import subprocess


def stop_with_ctrl_c(process: subprocess.Popen, timeout: float = 20) -> tuple[int, str, str]:
    """SIGINT, then its exit code and the rest of its output. A tool that has not stopped within
    `timeout` is killed, so that no server outlives the test, and the timeout is raised."""
    process.send_signal(signal.SIGINT)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return process.returncode, stdout or "", stderr or ""
