"""The tournament server as users meet it: started as a process on loopback (port 0) with a
temporary database and storage, driven through the client library."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from metta.tournament.bundle import bundle_policy
from metta.tournament.client import TournamentClient, TournamentError
from metta.tournament.db import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[2]
SEASON = "beta-cogsguard"
# Short matches on the arena (one 200-step episode: enough for the scripted policy to score),
# and the scheduler rests once every submission has played two.
QUICK_SEASON = json.dumps({"env": "mettagrid/arena/basic", "max_steps": 200, "episodes_per_match": 1,
                           "target_matches": 2})


def project_env() -> dict[str, str]:
    """The environment with this checkout first on the path, for processes started elsewhere."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


class Server:
    """`python -m metta.tournament.server` on port 0; `db` and `storage` are taken relative to
    `cwd`, as a user's shell would."""

    def __init__(self, tmp: Path, *args: str, cwd: Path = ROOT, db: str | None = None, storage: str | None = None):
        self.log = tmp / f"server-{time.monotonic_ns()}.log"
        self.storage = tmp / "storage"
        command = [sys.executable, "-m", "metta.tournament.server", "--db", db or str(tmp / "t.db"),
                   "--storage", storage or str(self.storage), "--host", "127.0.0.1", "--port", "0", *args]
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(command, cwd=cwd, env=project_env(), stdout=subprocess.PIPE, stderr=log,
                                            text=True)
        self.url = self._read_url(timeout=30)

    def _read_url(self, timeout: float) -> str:
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout) or self.process.poll() is not None:
            self.stop()
            pytest.fail(f"the server did not start: {self.log.read_text()}")
        line = self.process.stdout.readline()
        assert line.startswith("tournament server: http://127.0.0.1:"), line
        return line.split()[-1]

    def client(self, token: str | None = None) -> TournamentClient:
        return TournamentClient(self.url, token, timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()


def refused(status: int, call, *args, **kwargs) -> str:
    with pytest.raises(TournamentError) as error:
        call(*args, **kwargs)
    message = str(error.value)
    assert error.value.status == status, message
    assert message.startswith(f"HTTP {status}: ") and "\n" not in message
    return message


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server without background matches, for the API checks."""
    running = Server(tmp_path_factory.mktemp("server"), "--match-workers", "0")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, arena_run_dir):
    root = tmp_path_factory.mktemp("bundles")
    made = {name: bundle_policy(f"metta://policy/{name}", out_path=root / f"{name}.zip")
            for name in ("scripted", "random", "simple")}
    made["tiny"] = bundle_policy(arena_run_dir, out_path=root / "tiny.zip")
    return made


def test_tokens_are_checked_on_every_mutating_endpoint(server, bundles):
    anonymous = server.client()
    assert anonymous.health() == {"ok": True, "schema_version": SCHEMA_VERSION}
    assert {"GET /api/health", "POST /api/seasons/{season}/submissions"} <= set(
        anonymous._request("GET", "/")["endpoints"])
    alice = server.client(anonymous.signup("auth-alice")["token"])
    assert alice.whoami()["name"] == "auth-alice"
    assert refused(401, anonymous.whoami).endswith("(run `cogames login`)")
    assert "invalid token" in refused(401, server.client("mtt_wrong").upload, "p", bundles["random"])
    for call, args in [(anonymous.upload, ("p", bundles["random"])), (anonymous.submit, (SEASON, "p")),
                       (anonymous.delete_version, ("p", 1)), (anonymous.withdraw, (1,)),
                       (anonymous.policies, ()), (anonymous.submissions, ())]:
        refused(401, call, *args)
    request = urllib.request.Request(f"{server.url}/api/whoami", headers={"Authorization": "Basic abc"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)
    assert error.value.code == 401 and "malformed" in json.loads(error.value.read())["error"]
    assert "already exists" in refused(409, anonymous.signup, "auth-alice")
    assert "bad user name" in refused(400, anonymous.signup, "two words")
    second = server.client(alice.new_token())
    assert second.whoami()["name"] == "auth-alice"


def test_a_policy_is_only_its_owners(server, bundles, tmp_path):
    anonymous = server.client()
    alice = server.client(anonymous.signup("own-alice")["token"])
    bob = server.client(anonymous.signup("own-bob")["token"])
    v1 = alice.upload("own-scripted", bundles["scripted"], description="first")
    assert (v1["version"], v1["owner"], v1["kind"], v1["description"]) == (1, "own-alice", "builtin", "first")
    assert alice.upload("own-scripted", bundles["tiny"])["version"] == 2
    assert [p["name"] for p in alice.policies()] == ["own-scripted"] and bob.policies() == []
    assert [v["version"] for v in bob.policy("own-scripted")["versions"]] == [1, 2]  # public to read

    assert "belongs to own-alice" in refused(403, bob.upload, "own-scripted", bundles["random"])
    assert "belongs to own-alice" in refused(403, bob.delete_version, "own-scripted", 1)
    assert "belongs to own-alice" in refused(403, bob.submit, SEASON, "own-scripted")
    refused(403, bob.download, "own-scripted", 1, tmp_path / "x.zip")

    entry = alice.submit(SEASON, "own-scripted", version=1)
    assert (entry["status"], entry["version"], entry["rank"]) == ("active", 1, 1)
    assert "belongs to own-alice" in refused(403, bob.withdraw, entry["id"])
    assert "already submitted" in refused(409, alice.submit, SEASON, "own-scripted", 1)

    saved = alice.download("own-scripted", 1, tmp_path / "v1.zip")
    assert saved.read_bytes() == bundles["scripted"].read_bytes()
    stored = server.storage / "bundles" / v1["sha256"][:2] / f"{v1['sha256']}.zip"
    assert stored.read_bytes() == saved.read_bytes()  # kept under its content hash
    assert alice.delete_version("own-scripted", 1)["version"] == 1
    assert not stored.exists()  # no live version has that content any more
    [withdrawn] = alice.submissions(SEASON)
    assert (withdrawn["status"], withdrawn["message"]) == ("withdrawn", "version deleted")
    refused(404, alice.delete_version, "own-scripted", 1)
    assert alice.upload("own-scripted", bundles["scripted"])["version"] == 3  # numbers are not reused
    assert "no season named 'nope'" in refused(404, alice.submit, "nope", "own-scripted")


def test_bad_uploads_are_refused_in_one_line(server, tmp_path):
    alice = server.client(server.client().signup("bad-alice")["token"])
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"definitely not a zip")
    assert "garbage.zip: not a .zip or .tar.gz archive" in refused(400, alice.upload, "bad", garbage)
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("policy.json", json.dumps({"uri": "metta://policy/clever"}))
    assert "not a built-in policy" in refused(400, alice.upload, "bad", broken)
    assert "bad policy name" in refused(400, alice.upload, "bad name!", garbage)
    assert alice.policies() == []  # nothing was recorded
    assert "no such endpoint" in refused(404, alice._request, "GET", "/api/nothing")


def test_matches_rank_policies_and_the_database_survives_a_restart(tmp_path, bundles):
    first = Server(tmp_path, "--season-settings", QUICK_SEASON, "--match-poll-s", "0.2")
    try:
        anonymous = first.client()
        [season] = anonymous.seasons()
        assert (season["name"], season["settings"]["env"], season["settings"]["max_steps"]) == (
            SEASON, "mettagrid/arena/basic", 200)
        alice = first.client(anonymous.signup("alice")["token"])
        bob = first.client(anonymous.signup("bob")["token"])
        for name in ("scripted", "random"):
            alice.upload(name, bundles[name])
            alice.submit(SEASON, name)
        bob.upload("tiny", bundles["tiny"])
        bob.submit(SEASON, "tiny")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            board = anonymous.leaderboard(SEASON)
            matches = anonymous.matches(SEASON)
            if all(e["matches"] >= 2 for e in board) and all(m["status"] != "running" for m in matches):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"matches did not finish in time: {board}\n{first.log.read_text()}")
        ranks = {entry["policy"]: entry for entry in board}
        assert ranks["scripted"]["rank"] < ranks["random"]["rank"], board
        assert ranks["scripted"]["wins"] >= 1 and ranks["scripted"]["rating"] > ranks["random"]["rating"]
        assert ranks["tiny"]["owner"] == "bob"
        assert all(m["status"] == "done" and len(m["participants"]) == 2 and m["seed"] == m["id"] for m in matches)
        assert [s["rank"] for s in alice.submissions()] == [ranks["scripted"]["rank"], ranks["random"]["rank"]]
    finally:
        first.stop()
    assert "match 1 (beta-cogsguard)" in first.log.read_text()

    # The database is a real file: a new server on it (no matches, sign-up closed) sees it all.
    made = subprocess.run([sys.executable, "-m", "metta.tournament.server", "--db", str(tmp_path / "t.db"),
                           "--add-user", "root", "--admin"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False)
    assert made.returncode == 0, made.stderr
    admin_token = made.stdout.strip()
    second = Server(tmp_path, "--match-workers", "0", "--no-open-signup")
    try:
        anonymous = second.client()
        assert anonymous.leaderboard(SEASON) == board
        assert anonymous.matches(SEASON) == matches
        assert second.client(alice.token).whoami()["name"] == "alice"  # tokens survive too
        assert "sign-up is closed" in refused(403, anonymous.signup, "carol")
        admin = second.client(admin_token)
        assert admin.whoami()["is_admin"]
        carol = second.client(admin.signup("carol")["token"])
        assert carol.whoami()["name"] == "carol"
        assert "only an admin" in refused(403, carol.create_season, "s2")
        assert admin.create_season("s2", {"max_steps": 50})["settings"]["max_steps"] == 50
        assert "bad season settings" in refused(400, admin.create_season, "s3", {"max_steps": -1})
        assert admin.update_season("s2", status="closed")["status"] == "closed"
        assert "is closed" in refused(409, second.client(alice.token).submit, "s2", "scripted")
    finally:
        second.stop()
