"""Stopping a tool a test started the way a user does: Ctrl-C, then wait for it to exit."""

from __future__ import annotations

import signal
import subprocess


class DidNotStop(AssertionError):
    """A tool ignored Ctrl-C; the message carries where each of its threads was."""


def stop_with_ctrl_c(process: subprocess.Popen, timeout: float = 20) -> tuple[int, str, str]:
    """SIGINT, then its exit code and the rest of its output.

    A tool that has not stopped within `timeout` is sent SIGABRT, so that Python's faulthandler
    (on in every child of the test session: tests/conftest.py sets PYTHONFAULTHANDLER) prints
    every thread's stack to stderr, then killed, so that no server outlives the test. The
    failure then says where the tool hung, which a rare hang under load otherwise never does."""
    process.send_signal(signal.SIGINT)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        try:
            _, stderr = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
        raise DidNotStop(f"{process.args[0]} did not stop within {timeout} s of Ctrl-C; "
                         f"its stderr, with its threads' stacks:\n{_text(stderr)[-6000:]}") from None
    return process.returncode, stdout or "", stderr or ""


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""
