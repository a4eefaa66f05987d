"""`cogames` as a user types it against a local tournament server: login, upload (with a
dry run and a broken policy), submit, submissions, seasons and the leaderboard, and another
user refused with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tournament.test_server import QUICK_SEASON, SEASON, Server

ROOT = Path(__file__).resolve().parents[2]


def cogames(*args: str, token_file: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COGAMES_TOKEN_FILE": str(token_file)}
    return subprocess.run([sys.executable, "-m", "metta.cogames.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("cogames-server"), "--season-settings", QUICK_SEASON,
                     "--match-poll-s", "0.2")
    yield running
    running.stop()


def test_login_upload_submit_and_leaderboard(server, tmp_path):
    alice, bob = tmp_path / "alice.json", tmp_path / "bob.json"
    refused(cogames("submit", "x", token_file=alice), "not logged in")
    assert "logged in to" in ok(cogames("login", "--server", server.url, "--user", "cli-alice", token_file=alice))
    assert oct(alice.stat().st_mode & 0o777) == "0o600"
    ok(cogames("login", "--server", server.url, "--user", "cli-bob", token_file=bob))

    dry = ok(cogames("upload", "-p", "metta://policy/scripted", "-n", "cli-scripted", "--dry-run", token_file=alice))
    assert "loads and steps" in dry and "nothing uploaded" in dry
    refused(cogames("upload", "-p", "metta://policy/nobody", "-n", "x", token_file=alice), "nobody")
    assert "uploaded cli-scripted:v1" in ok(cogames("upload", "-p", "metta://policy/scripted", "-n", "cli-scripted",
                                                    token_file=alice))
    assert "uploaded cli-random:v1" in ok(cogames("upload", "-p", "metta://policy/random", "-n", "cli-random",
                                                  token_file=bob))
    refused(cogames("submit", "cli-scripted", "--season", SEASON, token_file=bob), "HTTP 403")
    assert f"submitted cli-scripted:v1 to {SEASON}" in ok(cogames("submit", "cli-scripted:v1", token_file=alice))
    ok(cogames("submit", "cli-random", token_file=bob))

    mine = json.loads(ok(cogames("submissions", "--json", token_file=alice)))
    assert [(s["policy"], s["version"], s["season"]) for s in mine] == [("cli-scripted", 1, SEASON)]
    assert SEASON in ok(cogames("seasons", token_file=alice))

    deadline = time.monotonic() + 90
    while True:
        board = json.loads(ok(cogames("leaderboard", "--json", token_file=alice)))
        if len(board) == 2 and all(row["matches"] >= 2 for row in board):
            break
        if time.monotonic() > deadline:
            pytest.fail(f"no ranked matches in time: {board}")
        time.sleep(1)
    assert [row["policy"] for row in board] == ["cli-scripted", "cli-random"]  # scripted outplays random
    text = ok(cogames("leaderboard", token_file=bob))
    assert text.splitlines()[0].lstrip().startswith("1. cli-scripted:v1 (cli-alice)")
