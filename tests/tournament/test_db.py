"""The tournament database: migrations, hashed tokens, ownership, version numbers, standings."""

import sqlite3

import pytest

from metta.tournament.db import (
    SCHEMA_VERSION,
    Conflict,
    Database,
    Forbidden,
    NotFound,
    TournamentDbError,
    hash_token,
)
from metta.tournament.ranking import BASE_RATING


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "t.db")
    yield database
    database.close()


def add(db, user, name, sha="a" * 64):
    return db.add_version(user, name, kind="builtin", source="metta://policy/random", blob_sha256=sha,
                          blob_path=f"bundles/{sha}.zip", size_bytes=10)


def test_a_new_file_gets_every_migration_once_in_wal_mode(tmp_path):
    path = tmp_path / "t.db"
    Database(path).close()
    Database(path).close()  # reopening applies nothing twice
    con = sqlite3.connect(path)
    assert con.execute("SELECT version FROM schema_migrations").fetchall() == [(v,) for v in
                                                                               range(1, SCHEMA_VERSION + 1)]
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.execute("INSERT INTO schema_migrations VALUES (999, 'later')")
    con.commit()
    con.close()
    with pytest.raises(RuntimeError, match="newer than this server"):
        Database(path)


def test_tokens_are_stored_hashed_and_find_their_user(db, tmp_path):
    user, token = db.create_user("alice")
    assert db.user_for_token(token)["name"] == "alice"
    assert db.user_for_token(token + "x") is None
    second = db.new_token(user["id"])
    assert second != token and db.user_for_token(second)["name"] == "alice"
    stored = [row[0] for row in db.con.execute("SELECT sha256 FROM tokens ORDER BY id")]
    assert stored == [hash_token(token), hash_token(second)]
    assert token.encode() not in (tmp_path / "t.db").read_bytes()
    with pytest.raises(Conflict):
        db.create_user("alice")
    for bad in ("no spaces", "bob\n", "bob\r\n", "", "-lead", "x" * 65):  # matched in full, not up to a newline
        with pytest.raises(TournamentDbError, match="bad user name"):
            db.create_user(bad)


def test_policy_names_belong_to_their_first_uploader(db):
    alice, _ = db.create_user("alice")
    bob, _ = db.create_user("bob")
    assert add(db, alice, "p")["version"] == 1
    with pytest.raises(Forbidden, match="belongs to alice"):
        add(db, bob, "p")
    with pytest.raises(Forbidden):
        db.delete_version(bob, "p", 1)
    assert add(db, alice, "p")["version"] == 2
    row, still_used = db.delete_version(alice, "p", 2)
    assert row["version"] == 2 and still_used  # v1 has the same content
    assert add(db, alice, "p")["version"] == 3  # numbers are never reused
    assert [v["version"] for v in db.policy("p")["versions"]] == [1, 3]
    with pytest.raises(NotFound, match="no version v2"):
        db.version("p", 2)


def test_submissions_standings_and_failures(db):
    alice, _ = db.create_user("alice")
    bob, _ = db.create_user("bob")
    db.create_season("s1", {"env": "mettagrid/arena/basic"})
    add(db, alice, "strong")
    add(db, alice, "weak")
    add(db, bob, "third")
    strong = db.submit(alice, "s1", "strong")
    weak = db.submit(alice, "s1", "weak", 1)
    third = db.submit(bob, "s1", "third")
    assert strong["rating"] == BASE_RATING and strong["matches"] == 0
    with pytest.raises(Conflict, match="already submitted"):
        db.submit(alice, "s1", "strong")
    with pytest.raises(Forbidden):
        db.submit(bob, "s1", "strong")
    with pytest.raises(Forbidden):
        db.withdraw(bob, strong["id"])

    for scores in ([3.0, 1.0], [2.0, 0.0], [1.0, 1.0]):
        match_id, seed = db.start_match(db.season("s1")["id"], [strong["id"], weak["id"]])
        assert seed == match_id
        db.finish_match(match_id, scores, duration_s=1.0)
    board = db.leaderboard("s1")
    assert [(e["policy"], e["matches"], e["wins"], e["draws"], e["losses"]) for e in board] == [
        ("strong", 3, 2, 1, 0), ("third", 0, 0, 0, 0), ("weak", 3, 0, 1, 2)]
    assert [e["rank"] for e in board] == [1, 2, 3]
    assert db.submission(weak["id"])["rank"] == 3

    match_id, _ = db.start_match(db.season("s1")["id"], [third["id"], weak["id"]])
    db.fail_match(match_id, "third:v1: cannot load", failed_position=0)
    failed = db.submission(third["id"])
    assert (failed["status"], failed["message"], failed["rank"]) == ("failed", "third:v1: cannot load", None)
    assert db.abandon_running_matches() == 0

    withdrawn = db.withdraw(alice, weak["id"])
    assert withdrawn["status"] == "withdrawn" and withdrawn["rank"] is None
    assert [e["policy"] for e in db.leaderboard("s1")] == ["strong"]
    assert db.submit(alice, "s1", "weak")["status"] == "active"  # re-entered, with its history
    assert db.season("s1")["matches_played"] == 3


def test_the_leaderboards_grouped_records_equal_the_per_submission_ones(tmp_path):
    """The leaderboard reads every record of a season in two grouped queries; they must say what
    `_record` says of each submission: finished, failed, running and unplayed matches mixed."""
    import random

    from metta.tournament.db import _NO_RECORD, Database

    db = Database(tmp_path / "records.db")
    user, _ = db.create_user("u")
    db.create_season("s", {})
    season_id = db.season("s")["id"]
    submissions = []
    for i in range(8):
        db.add_version(user, f"p{i}", kind="builtin", source="x", blob_sha256=str(i), blob_path="b", size_bytes=1)
        submissions.append(db.submit(user, "s", f"p{i}")["id"])
    rng = random.Random(0)
    for k in range(40):
        players = rng.sample(submissions[:6], 2)  # two never play
        match_id, _ = db.start_match(season_id, players)
        draw = rng.random()
        if draw < 0.6:
            db.finish_match(match_id, [rng.choice([0, 1, 2]) for _ in players], 1.0)
        elif draw < 0.85:
            db.fail_match(match_id, f"error {k}")
    grouped = db._season_records(season_id)
    assert len(grouped) == 6
    for submission_id in submissions:
        assert (grouped.get(submission_id) or _NO_RECORD) == db._record(submission_id), submission_id
    assert [e["submission_id"] for e in db.leaderboard("s")] != []
    db.close()
