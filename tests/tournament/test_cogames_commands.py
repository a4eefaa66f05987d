"""The guide's leaderboard workflow as a user types it: a server started with relative paths
from its own directory, and the `cogames login / upload / submit / submissions / seasons /
leaderboard` commands (run in this process through `cogames`' own entry point) against it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from metta.cogames.cli import main as cogames
from tests.tournament.test_server import SEASON, Server, project_env

# One short arena episode per match, and one match per submission is enough to rank them.
ONE_MATCH_SEASON = json.dumps({"env": "mettagrid/arena/basic", "max_steps": 200, "episodes_per_match": 1,
                               "target_matches": 1})
DB, STORAGE = "train_dir/tournament/tournament.db", "train_dir/tournament/storage"
CHECK = ["-m", "mettagrid/arena/basic"]  # the quick season plays the arena, so upload checks there


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cogames(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def wait_for(condition, what: str, server: Server, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.5)
    pytest.fail(f"{what} did not happen in {timeout:.0f}s:\n{server.log.read_text()}")


@pytest.fixture
def user_dir(tmp_path, monkeypatch, arena_run_dir):
    """A user's working directory: ./train_dir/my_run with checkpoints, ./extra_data/, and a
    login file of its own."""
    shutil.copytree(arena_run_dir, tmp_path / "train_dir" / "my_run")
    (tmp_path / "extra_data").mkdir()
    (tmp_path / "extra_data" / "notes.md").write_text("how it was trained\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COGAMES_TOKEN_FILE", str(tmp_path / "login.json"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where bundles are made
    return tmp_path


def test_relative_paths_play_matches_and_failures_show(user_dir, capsys):
    # An admin made from the same relative --db before the server starts.
    made = subprocess.run([sys.executable, "-m", "metta.tournament.server", "--db", DB, "--add-user", "root",
                           "--admin"], cwd=user_dir, env=project_env(), capture_output=True, text=True, timeout=60,
                          check=False)
    assert made.returncode == 0, made.stderr
    server = Server(user_dir, "--season-settings", ONE_MATCH_SEASON, "--match-poll-s", "0.2", cwd=user_dir, db=DB,
                    storage=STORAGE)
    try:
        admin = server.client(made.stdout.strip())
        # A season whose matches cannot be played (its env does not exist): failures must show.
        admin.create_season("broken", {"env": "mettagrid/no_such_env", "max_steps": 50})

        assert run(capsys, "login", "--server", server.url, "--user", "alice")[0] == 0
        code, out, _ = run(capsys, "login", "--server", server.url)  # again: the stored login still holds
        assert code == 0 and "already logged in" in out and "alice" in out
        code, out, _ = run(capsys, "upload", "-p", "./train_dir/my_run", "-n", "my-policy", *CHECK)
        assert code == 0 and "uploaded my-policy:v1 (checkpoint)" in out, out
        code, out, _ = run(capsys, "upload", "-p", "./train_dir/my_run", "-n", "my-policy", "-f", "./extra_data/",
                           *CHECK)
        assert code == 0 and "uploaded my-policy:v2" in out, out
        code, out, _ = run(capsys, "upload", "-p", "./train_dir/my_run", "-n", "my-policy", "--dry-run", *CHECK)
        assert code == 0 and "nothing uploaded" in out
        code, _, err = run(capsys, "upload", "-p", "my_module.MyPolicy", "-n", "my-policy")
        assert code == 2 and err.startswith("error: upload: my_module.MyPolicy looks like a Python class")
        alice = server.client(json.loads((user_dir / "login.json").read_text())["token"])
        [policy] = alice.policies()
        assert [v["version"] for v in policy["versions"]] == [1, 2]  # the dry run uploaded nothing

        code, out, _ = run(capsys, "upload", "-p", "scripted", "-n", "scripted", *CHECK)  # a built-in's bare name
        assert code == 0 and "uploaded scripted:v1 (builtin)" in out
        # Uploaded bundles are removed; the dry run's stays, for a look at what would go.
        assert [p.name for p in (user_dir / "tmp").glob("policy-bundle-*/*")] == ["bundle.zip"]
        code, out, _ = run(capsys, "submit", "my-policy:v2", "--season", SEASON)
        assert code == 0 and f"submitted my-policy:v2 to {SEASON}" in out
        assert run(capsys, "submit", "scripted", "--season", SEASON)[0] == 0
        assert run(capsys, "submit", "scripted", "--season", "broken")[0] == 0
        assert run(capsys, "submit", "my-policy", "--season", "broken")[1].startswith("submitted my-policy:v2")
        code, _, err = run(capsys, "submit", "my-policy:v9", "--season", SEASON)
        assert code == 2 and "v9" in err and len(err.strip().splitlines()) == 1

        board = wait_for(lambda: (b := alice.leaderboard(SEASON)) and all(e["matches"] >= 1 for e in b) and b,
                         "a match each", server)
        ranks = {entry["policy"]: entry for entry in board}
        assert ranks["scripted"]["rank"] == 1 and ranks["scripted"]["rating"] > ranks["my-policy"]["rating"], board
        assert all(e["errors"] == 0 for e in board)
        wait_for(lambda: alice.season("broken")["matches_failed"] >= 1, "a failed match", server)

        code, out, _ = run(capsys, "leaderboard", "--season", SEASON, "--json")
        assert code == 0 and [e["policy"] for e in json.loads(out)][0] == "scripted"
        code, out, _ = run(capsys, "leaderboard", "--season", SEASON)
        assert code == 0 and out.splitlines()[0].startswith("  1. scripted:v1 (alice) rating ") and "failed" not in out
        code, out, _ = run(capsys, "leaderboard", "--season", "broken")
        assert code == 0 and "no_such_env" in out and "broken: 0 matches played, " in out and "failed (last: " in out
        code, out, _ = run(capsys, "submissions")
        lines = out.splitlines()
        assert code == 0 and len(lines) == 4 and all("failed (last: " in line for line in lines if "broken" in line)
        code, out, _ = run(capsys, "seasons")
        assert code == 0 and "broken: open (env mettagrid/no_such_env), 0 matches played, " in out
        assert f"{SEASON}: open (env mettagrid/arena/basic), " in out
    finally:
        server.stop()
    log = server.log.read_text()
    assert "relative path" not in log and "(broken) failed: " in log and "no_such_env" in log
    assert (user_dir / STORAGE / "bundles").is_dir() and (user_dir / DB).is_file()


def test_commands_say_what_is_wrong_in_one_line(user_dir, capsys):
    code, _, err = run(capsys, "submissions")
    assert code == 2 and "cogames login" in err
    code, _, err = run(capsys, "login", "--server", "http://127.0.0.1:9", "--user", "alice")
    assert code == 2 and "cannot reach http://127.0.0.1:9" in err and "devops/tournament_server.sh" in err
    (user_dir / "login.json").write_text("{broken")
    code, _, err = run(capsys, "leaderboard")
    assert code == 2 and err.count("\n") == 1 and "login.json: not JSON" in err
    code, _, err = run(capsys, "submit", ":v3")
    assert code == 2 and "bad policy reference" in err
