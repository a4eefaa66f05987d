"""tests/ctrl_c.py: a tool that ignores Ctrl-C fails the test with its threads' stacks."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.ctrl_c import DidNotStop, stop_with_ctrl_c

DEAF = ("import signal, threading\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "def wait_here():\n"
        "    threading.Event().wait()\n"
        "print('up', flush=True)\n"
        "wait_here()\n")


def test_a_tool_that_stops_gives_its_exit_code_and_output():
    process = subprocess.Popen([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.readline()
    code, _, stderr = stop_with_ctrl_c(process)
    # Uncaught, KeyboardInterrupt ends Python by SIGINT, as Ctrl-C ends other programs.
    assert code == -signal.SIGINT and "KeyboardInterrupt" in stderr


def test_a_tool_that_ignores_ctrl_c_is_killed_and_says_where_it_hung():
    # PYTHONFAULTHANDLER comes from tests/conftest.py, as for every tool a test starts.
    process = subprocess.Popen([sys.executable, "-c", DEAF], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    process.stdout.readline()
    with pytest.raises(DidNotStop, match=r"did not stop within 1 s") as failure:
        stop_with_ctrl_c(process, timeout=1)
    assert "in wait_here" in str(failure.value)
    assert process.returncode is not None  # nothing outlives the test
