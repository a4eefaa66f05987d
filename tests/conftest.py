"""Shared fixtures: a real local S3 server (moto) for code that talks to s3://."""

from __future__ import annotations

import os
import signal

import pytest

# Tools started by tests inherit this process's Ctrl-C disposition. Started in the background by a
# non-interactive shell (`pytest ... &`, nohup) or as a worker, pytest ignores SIGINT, and then every
# tool it starts would ignore the Ctrl-C the serve-and-stop tests send (they hang until killed).
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Every Python child of the session dumps its threads' stacks on a fatal signal: a tool that
# hangs is sent SIGABRT before it is killed (tests/ctrl_c.py), so the failure says where it hung.
os.environ.setdefault("PYTHONFAULTHANDLER", "1")


@pytest.fixture(scope="session")
def _moto_server():
    moto_server = pytest.importorskip("moto.server", reason="S3 tests need moto[server]")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_endpoint(_moto_server, monkeypatch, tmp_path):
    """Point boto3 at the local server with dummy credentials; yields the endpoint URL.

    The server lives for the whole session, so tests should use their own bucket names.
    Shared AWS config files are hidden so that a developer's profile cannot leak in.
    """
    monkeypatch.setenv("AWS_ENDPOINT_URL", _moto_server)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return _moto_server
