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


def cogames(*args: str, token_file: Path, login_name: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COGAMES_TOKEN_FILE": str(token_file)}
    if login_name:  # what getpass.getuser() reads first
        env["LOGNAME"] = login_name
    return subprocess.run([sys.executable, "-m", "metta.cogames.cli", *args], check=False, cwd=ROOT, env=env,
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
    refused(cogames("upload", "-p", "my_module.MyPolicy", "-n", "x", token_file=alice), "looks like a Python class")
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


def test_policies_play_scrimmage_run_and_train(tmp_path):
    token = tmp_path / "none.json"
    listed = ok(cogames("policies", token_file=token))
    for name in ("role", "role_py", "miner", "scout", "aligner", "scrambler", "cogsguard", "teacher", "baseline",
                 "cogsguard_v2", "wombo", "cogsguard_control", "cogsguard_targeted", "random"):
        assert f"  {name}" in listed
    # Every built-in comes with a one-line description.
    described = [line for line in listed.splitlines() if line.startswith("  ")]
    from mettagrid.cogsguard.policies import COGSGUARD_POLICIES
    from mettagrid.scripted_policies import SCRIPTED_POLICIES

    assert len(described) == len(COGSGUARD_POLICIES) + len(SCRIPTED_POLICIES), listed
    assert all(len(line.split("]")[-1].split()) > 3 for line in described), listed

    log = ok(cogames("play", "-m", "cogsguard_arena.small", "-p", "role", "-r", "log", "-s", "120", token_file=token))
    assert "step 100:" in log and log.strip().splitlines()[-1].startswith("episode: heart.gained")
    terminal = ok(cogames("play", "-m", "cogsguard_arena.small", "-p", "miner", "-r", "unicode", "-s", "3",
                          token_file=token))
    assert terminal.count("\x1b[H\x1b[2J") == 3 and "step 3 |" in terminal
    gui = cogames("play", "-m", "cogsguard_arena.small", "-p", "role?miner=2&scout=0&aligner=1&scrambler=0", "-s",
                  "30", "--no-serve", token_file=token)
    from mettagrid.replay import load_replay

    replay = load_replay(ROOT / ok(gui).strip())
    assert replay["max_steps"] == 30 and replay["metadata"]["mission"] == "cogsguard_arena.small"

    scores = {}
    for policy in ("role", "random"):
        report = json.loads(ok(cogames("scrimmage", "-m", "cogsguard_arena.small", "-p", policy, "-e", "2", "-s", "200",
                                       "--format", "json", token_file=token)))
        assert len(report["episodes"]) == 2
        scores[policy] = report["mean"]
    assert scores["role"]["heart.gained"] > scores["random"]["heart.gained"] + 1
    assert scores["role"]["aligned.junction.held"] > scores["random"]["aligned.junction.held"]

    shared = json.loads(ok(cogames("run", "-m", "cogsguard_arena.small", "-p", "role,proportion=2", "-p",
                                   "class=random,proportion=1", "-e", "1", "-s", "100", "--format", "json",
                                   token_file=token)))
    rows = shared["missions"]["cogsguard_arena.small"]["policies"]
    assert [row["policy"] for row in rows] == ["role", "random"] and rows[0]["agents"] == 2 * rows[1]["agents"]
    refused(cogames("run", "-p", "role,proportion=x", token_file=token), "proportion must be a number")
    refused(cogames("scrimmage", "-m", "nowhere", "-p", "role", token_file=token), "unknown mission 'nowhere'")

    trained = cogames("train", "-m", "cogsguard_arena.small", "--steps", "1024", "--batch-size", "1024", "--run", "cg",
                      "--train-dir", str(tmp_path), "--teacher", "role", "trainer.bptt_horizon=8", "trainer.num_envs=8",
                      "agent.hidden_size=32", "agent.cnn_channels=8", "wandb=off", token_file=token)
    assert ok(trained).strip().endswith(str(tmp_path / "cg" / "checkpoints"))
    logged = json.loads((tmp_path / "cg" / "metrics.jsonl").read_text().splitlines()[-1])
    assert "losses/bc_loss" in logged and "teacher/agreement" in logged  # trained with the role teacher
    checkpoint_play = ok(cogames("scrimmage", "-m", "cogsguard_arena.small", "-p", str(tmp_path / "cg" / "checkpoints"),
                                 "-e", "1", "-s", "30", "--format", "json", token_file=token))
    assert json.loads(checkpoint_play)["policy"].startswith("file://")


def test_login_without_a_name_signs_up_as_the_login_name(server, tmp_path):
    carol = tmp_path / "carol.json"
    assert "as cli-carol" in ok(cogames("login", "--server", server.url, token_file=carol, login_name="cli-carol"))
    assert json.loads(ok(cogames("submissions", "--json", token_file=carol))) == []
    # A second sign-up under the same name is refused, with the way out in the same line.
    refused(cogames("login", "--server", server.url, token_file=tmp_path / "again.json", login_name="cli-carol"),
            "--user NAME")
