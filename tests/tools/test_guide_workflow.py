"""The training guide's "Full End-to-End Workflow", typed as the guide types it, at CPU scale,
against a tournament server started on loopback: play, scrimmage, train with a teacher through
the recipe runner, evaluate, upload, submit, and the leaderboard.

Every command runs in a scratch directory, so `./train_dir/my-run` means what it says there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metta.cogames.tournament_commands import CHECK_MISSION
from tests.tournament.test_server import SEASON, Server

ROOT = Path(__file__).resolve().parents[2]
# Short CoGsGuard matches: two 100-step episodes (one on each side); one match each suffices.
GUIDE_SEASON = json.dumps({"max_steps": 100, "episodes_per_match": 2, "target_matches": 1})
TEACHER = ('teacher={mode: sliced_cloner, policy_uri: "metta://policy/cogsguard?gear=10", '
           'teacher_led_proportion: 0.5, student_led_proportion: 0.5}')
# The guide's 5e9 steps at 2M per batch, cut down for a CPU: 4 epochs of 1024 agent steps on
# 4 envs x 16 agents with 48-step episodes, so episodes finish and their stats are logged.
CPU_SCALE = ["trainer.total_timesteps=4096", "trainer.batch_size=1024", "trainer.minibatch_size=512",
             "trainer.bptt_horizon=8", "trainer.num_envs=4", "trainer.num_workers=1", "env.game.max_steps=48",
             "agent.hidden_size=32", "agent.cnn_channels=8", "wandb=off"]


class Shell:
    """Runs commands the way a user's shell would: in one working directory, one login file."""

    def __init__(self, cwd: Path):
        self.cwd = cwd
        self.env = {**os.environ, "COGAMES_TOKEN_FILE": str(cwd / "cogames-login.json")}

    def run(self, *argv: str, timeout: float = 300) -> str:
        result = subprocess.run(list(argv), cwd=self.cwd, env=self.env, capture_output=True, text=True,
                                timeout=timeout, check=False)
        assert result.returncode == 0, f"{' '.join(argv)}\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def cogames(self, *args: str, timeout: float = 300) -> str:
        return self.run(sys.executable, "-m", "metta.cogames.cli", *args, timeout=timeout)


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path, "--season-settings", GUIDE_SEASON, "--match-poll-s", "0.2")
    yield running
    running.stop()


def test_the_full_end_to_end_workflow(tmp_path, server):
    user = Shell(tmp_path / "me")
    user.cwd.mkdir()

    # 1. Develop locally.
    played = user.cogames("play", "-m", "cogsguard_arena.basic", "-p", "role", "-r", "log", "-s", "200")
    assert played.strip().splitlines()[-1].startswith("episode: heart.gained")
    scrimmage = json.loads(user.cogames("scrimmage", "-m", "cogsguard_arena.basic", "-p", "role", "-e", "2",
                                        "-s", "200", "--format", "json"))
    assert len(scrimmage["episodes"]) == 2 and scrimmage["mean"]["heart.gained"] > 0

    # 2. Train with the smart-gear teacher through the recipe runner.
    trained = user.run(str(ROOT / "tools" / "run.py"), "recipes.experiment.cogsguard.train", "run=my-run", TEACHER,
                       *CPU_SCALE)
    assert "final metrics:" in trained
    assert sorted(p.name for p in (user.cwd / "train_dir" / "my-run" / "checkpoints").glob("*.pt"))

    # 3. The metrics the guide says to watch.
    rows = [json.loads(line) for line in (user.cwd / "train_dir" / "my-run" / "metrics.jsonl").read_text().splitlines()]
    logged = set().union(*rows)
    assert {"overview/reward", "losses/approx_kl", "losses/bc_loss", "teacher/agreement"} <= logged
    assert any(key.startswith("env_collective/cogs/") for key in logged), sorted(logged)
    assert any(key.startswith("env_agent/") for key in logged)

    # 4. Evaluate the checkpoint.
    evaluated = json.loads(user.cogames("scrimmage", "-m", "cogsguard_arena.basic", "-p", "./train_dir/my-run",
                                        "-e", "2", "-s", "100", "--format", "json"))
    assert evaluated["policy"].startswith("file://") and len(evaluated["episodes"]) == 2
    [checkpoint] = (user.cwd / "train_dir" / "my-run" / "checkpoints").glob("my-run:v*.pt")
    versioned = json.loads(user.cogames("scrimmage", "-m", "cogsguard_arena.basic", "-p",
                                        f"./train_dir/{checkpoint.stem}", "-e", "1", "-s", "30", "--format", "json"))
    assert versioned["policy"].endswith(checkpoint.name)
    sets = json.loads(user.cogames("run", "-S", "integrated_evals", "-p", "./train_dir/my-run", "-e", "1", "-s", "50",
                                   "--format", "json"))
    assert set(sets["missions"]) == {"cogsguard_arena.small", "cogsguard_arena.basic", "cogsguard_arena.no_clips"}

    # 5. Upload and submit (after logging in); someone else enters the scripted roles.
    user.cogames("login", "--server", server.url, "--user", "me")
    [season] = json.loads(user.cogames("seasons", "--json"))
    assert season["name"] == SEASON and season["settings"]["env"] == CHECK_MISSION == "cogsguard_arena.basic"
    assert season["settings"]["teams"] == "auto"  # groups, for a mission: each policy plays a side
    assert "uploaded my-policy:v1" in user.cogames("upload", "-p", "./train_dir/my-run", "-n", "my-policy")
    assert f"submitted my-policy:v1 to {SEASON}" in user.cogames("submit", "my-policy", "--season", SEASON)
    rival = Shell(tmp_path / "rival")
    rival.cwd.mkdir()
    rival.cogames("login", "--server", server.url, "--user", "rival")
    rival.cogames("upload", "-p", "metta://policy/role", "-n", "roles")
    rival.cogames("submit", "roles", "--season", SEASON)

    # 6. Check standings: both ranked once the server has played them against each other.
    deadline = time.monotonic() + 240
    while True:
        board = json.loads(user.cogames("leaderboard", "--season", SEASON, "--json"))
        if len(board) == 2 and all(row["matches"] >= 1 for row in board):
            break
        if time.monotonic() > deadline:
            pytest.fail(f"no ranked match in time: {board}\n{server.log.read_text()}")
        time.sleep(1)
    assert {row["policy"] for row in board} == {"my-policy", "roles"}
    assert board[0]["policy"] == "roles"  # a 4-epoch student does not beat the scripted roles yet
    text = user.cogames("leaderboard", "--season", SEASON)
    assert "my-policy:v1 (me)" in text and "roles:v1 (rival)" in text
