"""The tournament's database: one SQLite file (WAL mode) and the queries on it.

Tables (docs/tournament.md has the full picture):

    users              name, admin flag
    tokens             sha256 of each API token (the token itself is never stored)
    policies           a global name and the user who owns it
    policy_versions    v1, v2, ... of a policy: the stored bundle (content hash, path under
                       the storage dir), soft-deleted with `deleted_at`
    seasons            name, open/closed, match settings (JSON, see matches.SeasonSettings)
    submissions        a policy version entered in a season: active, withdrawn or failed,
                       and its current rating
    matches            one game of a season: running, done or error; seed, winner, duration
    match_participants who played a match, in which position, with which score

Schema changes are migrations: `MIGRATIONS[k]` turns version k into k+1, and
`schema_migrations` records which ran. Opening a database applies the missing ones, each in
one transaction; a database written by a newer server is refused.

Each thread opens its own `Database` (sqlite3 connections stay in their thread); WAL lets
the web server read while the match scheduler writes. Writes that read first (version
numbers, ownership) run in `BEGIN IMMEDIATE` transactions so that two writers cannot
interleave. Refusals are `TournamentDbError`s whose `status` is the HTTP status the server
answers with and whose message is one line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from metta.tournament.ranking import BASE_RATING, bradley_terry, pairwise_outcomes

# Checked with fullmatch: `$` would also accept a trailing newline ("alice\n"), a name that
# then breaks every URL and header it appears in.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
NAME_RULE = "1-64 characters: letters, digits, '_', '.', '-' (not first)"
TOKEN_PREFIX = "mtt_"

MIGRATIONS: list[str] = [
    # 0 -> 1: the first schema
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        is_admin INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        sha256 TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE policies (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        owner_id INTEGER NOT NULL REFERENCES users(id),
        created_at TEXT NOT NULL
    );
    CREATE TABLE policy_versions (
        id INTEGER PRIMARY KEY,
        policy_id INTEGER NOT NULL REFERENCES policies(id),
        version INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('builtin', 'checkpoint')),
        source TEXT NOT NULL,
        blob_sha256 TEXT NOT NULL,
        blob_path TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        deleted_at TEXT,
        UNIQUE (policy_id, version)
    );
    CREATE TABLE seasons (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        settings_json TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE submissions (
        id INTEGER PRIMARY KEY,
        season_id INTEGER NOT NULL REFERENCES seasons(id),
        version_id INTEGER NOT NULL REFERENCES policy_versions(id),
        status TEXT NOT NULL CHECK (status IN ('active', 'withdrawn', 'failed')),
        message TEXT NOT NULL DEFAULT '',
        rating REAL NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (season_id, version_id)
    );
    CREATE TABLE matches (
        id INTEGER PRIMARY KEY,
        season_id INTEGER NOT NULL REFERENCES seasons(id),
        status TEXT NOT NULL CHECK (status IN ('running', 'done', 'error')),
        seed INTEGER NOT NULL,
        winner_submission_id INTEGER REFERENCES submissions(id),
        replay_path TEXT,
        error TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        duration_s REAL
    );
    CREATE TABLE match_participants (
        match_id INTEGER NOT NULL REFERENCES matches(id),
        position INTEGER NOT NULL,
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        score REAL,
        PRIMARY KEY (match_id, position)
    );
    CREATE INDEX match_participants_by_submission ON match_participants(submission_id);
    CREATE INDEX matches_by_season ON matches(season_id, status);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


class TournamentDbError(Exception):
    """A refused request; `status` is the HTTP status that says why."""

    status = 400


class NotFound(TournamentDbError):
    status = 404


class Forbidden(TournamentDbError):
    status = 403


class Conflict(TournamentDbError):
    status = 409


class Unauthorized(TournamentDbError):
    status = 401


class TooLarge(TournamentDbError):
    status = 413


class RateLimited(TournamentDbError):
    """Too many requests; `retry_after` is the seconds until the next one is let through."""

    status = 429

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Quota:
    """What one user may keep stored: live versions and their bytes (0: no limit)."""

    max_versions: int = 0
    max_bytes: int = 0


NO_QUOTA = Quota()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise TournamentDbError(f"bad {kind} name {name!r} ({NAME_RULE})")
    return name


def schema_version(con: sqlite3.Connection) -> int:
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    return con.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]


def migrate(con: sqlite3.Connection, path: Path | str = "database") -> int:
    """Apply the migrations `con` lacks, each in its own transaction; returns the version."""
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise RuntimeError(f"{path}: schema version {current} is newer than this server's ({SCHEMA_VERSION})")
    for version in range(current + 1, SCHEMA_VERSION + 1):
        # executescript commits first; the explicit BEGIN/COMMIT makes the whole step atomic.
        try:
            con.executescript(
                f"BEGIN IMMEDIATE;\n{MIGRATIONS[version - 1]}\n"
                f"INSERT INTO schema_migrations VALUES ({version}, '{utc_now()}');\nCOMMIT;"
            )
        except sqlite3.Error:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


class Database:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are explicit (see `_write`).
        self.con = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.con.row_factory = sqlite3.Row
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA foreign_keys=ON")
        self.con.execute("PRAGMA busy_timeout=30000")
        migrate(self.con, self.path)

    def close(self) -> None:
        self.con.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self.con.execute("BEGIN IMMEDIATE")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def _one(self, sql: str, args: Sequence[Any] = ()) -> dict[str, Any] | None:
        row = self.con.execute(sql, args).fetchone()
        return dict(row) if row is not None else None

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self.con.execute(sql, args).fetchall()]

    # -- users and tokens -----------------------------------------------------------------------

    def create_user(self, name: str, is_admin: bool = False) -> tuple[dict[str, Any], str]:
        """A new user and its first token (shown once: only its hash is kept)."""
        check_name("user", name)
        with self._write() as con:
            if con.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise Conflict(f"user {name!r} already exists")
            user_id = con.execute(
                "INSERT INTO users (name, is_admin, created_at) VALUES (?, ?, ?)", (name, int(is_admin), utc_now())
            ).lastrowid
            token = self._insert_token(user_id)
        return self.user(user_id), token

    def new_token(self, user_id: int) -> str:
        with self._write():
            return self._insert_token(user_id)

    def _insert_token(self, user_id: int) -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.con.execute(
            "INSERT INTO tokens (user_id, sha256, created_at) VALUES (?, ?, ?)", (user_id, hash_token(token), utc_now())
        )
        return token

    def user(self, user_id: int) -> dict[str, Any]:
        user = self._one("SELECT id, name, is_admin, created_at FROM users WHERE id = ?", (user_id,))
        if user is None:
            raise NotFound(f"no user with id {user_id}")
        user["is_admin"] = bool(user["is_admin"])
        return user

    def user_for_token(self, token: str) -> dict[str, Any] | None:
        row = self._one("SELECT user_id FROM tokens WHERE sha256 = ?", (hash_token(token),))
        return self.user(row["user_id"]) if row else None

    # -- policies and versions ------------------------------------------------------------------

    def check_can_upload(self, user: dict[str, Any], name: str) -> int | None:
        """Refuse a bad name, or a name another user owns (the server asks before reading an
        upload); returns the policy's id, None when the name is still free."""
        check_name("policy", name)
        policy = self._one(
            "SELECT p.id, p.owner_id, u.name AS owner FROM policies p JOIN users u ON u.id = p.owner_id"
            " WHERE p.name = ?", (name,))
        if policy is not None and policy["owner_id"] != user["id"]:
            raise Forbidden(f"policy {name!r} belongs to {policy['owner']}; pick another name")
        return policy["id"] if policy is not None else None

    def usage(self, user: dict[str, Any]) -> tuple[int, int]:
        """The live versions a user keeps and their bytes, what `Quota` limits."""
        row = self.con.execute(
            "SELECT COUNT(*), COALESCE(SUM(v.size_bytes), 0) FROM policy_versions v JOIN policies p"
            " ON p.id = v.policy_id WHERE p.owner_id = ? AND v.deleted_at IS NULL", (user["id"],)).fetchone()
        return int(row[0]), int(row[1])

    def check_quota(self, user: dict[str, Any], quota: Quota, adding_bytes: int = 0) -> int | None:
        """Refuse one more version of `adding_bytes` past the user's quota (403 for the count,
        413 for the bytes); returns the bytes still free (None: no byte limit)."""
        versions, used = self.usage(user)
        if quota.max_versions and versions >= quota.max_versions:
            raise Forbidden(f"quota: you keep {versions} policy versions, this server's limit per user; "
                            "delete old ones first")
        if not quota.max_bytes:
            return None
        if used + adding_bytes > quota.max_bytes:
            raise TooLarge(f"quota: this upload would take your stored bundles past this server's "
                           f"{quota.max_bytes >> 20} MiB per user ({used >> 20} MiB used); delete old versions first")
        return quota.max_bytes - used

    def blob_in_use(self, sha256: str) -> bool:
        return self.con.execute("SELECT 1 FROM policy_versions WHERE blob_sha256 = ? AND deleted_at IS NULL",
                                (sha256,)).fetchone() is not None

    def add_version(self, user: dict[str, Any], name: str, *, kind: str, source: str, blob_sha256: str,
                    blob_path: str, size_bytes: int, description: str = "", quota: Quota = NO_QUOTA) -> dict[str, Any]:
        """Record a new version of `name` (created, owned by `user`, on its first upload)."""
        with self._write() as con:
            policy_id = self.check_can_upload(user, name)  # again inside the transaction: nobody claims it meanwhile
            self.check_quota(user, quota, size_bytes)  # inside too: two uploads at once cannot both take the last slot
            if policy_id is None:
                policy_id = con.execute(
                    "INSERT INTO policies (name, owner_id, created_at) VALUES (?, ?, ?)", (name, user["id"], utc_now())
                ).lastrowid
            # Numbers are never reused, not even those of deleted versions.
            version = con.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM policy_versions WHERE policy_id = ?", (policy_id,)
            ).fetchone()[0]
            con.execute(
                "INSERT INTO policy_versions (policy_id, version, kind, source, blob_sha256, blob_path, size_bytes,"
                " description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (policy_id, version, kind, source, blob_sha256, blob_path, size_bytes, description, utc_now()),
            )
        return self.version(name, version)

    _VERSION_COLUMNS = (
        "v.id, p.name AS policy, u.name AS owner, v.version, v.kind, v.source, v.blob_sha256 AS sha256,"
        " v.blob_path, v.size_bytes, v.description, v.created_at"
    )
    _VERSION_FROM = "policy_versions v JOIN policies p ON p.id = v.policy_id JOIN users u ON u.id = p.owner_id"

    def version(self, name: str, version: int | None = None) -> dict[str, Any]:
        """One live version of a policy (the newest when `version` is None)."""
        self.policy(name)  # a one-line 404 naming the policy
        where, args = "p.name = ? AND v.deleted_at IS NULL", [name]
        if version is not None:
            where, args = where + " AND v.version = ?", [name, version]
        row = self._one(f"SELECT {self._VERSION_COLUMNS} FROM {self._VERSION_FROM} WHERE {where}"
                        " ORDER BY v.version DESC LIMIT 1", args)
        if row is None:
            raise NotFound(f"policy {name!r} has no versions" if version is None
                           else f"policy {name!r} has no version v{version}")
        return row

    def policy(self, name: str) -> dict[str, Any]:
        """A policy with its live versions, oldest first."""
        policy = self._one(
            "SELECT p.name, u.name AS owner, p.created_at FROM policies p JOIN users u ON u.id = p.owner_id"
            " WHERE p.name = ?", (name,))
        if policy is None:
            raise NotFound(f"no policy named {name!r}")
        policy["versions"] = self._all(
            f"SELECT {self._VERSION_COLUMNS} FROM {self._VERSION_FROM}"
            " WHERE p.name = ? AND v.deleted_at IS NULL ORDER BY v.version", (name,))
        return policy

    def policies_of(self, user: dict[str, Any]) -> list[dict[str, Any]]:
        names = [row["name"] for row in self._all(
            "SELECT name FROM policies WHERE owner_id = ? ORDER BY name", (user["id"],))]
        return [self.policy(name) for name in names]

    def delete_version(self, user: dict[str, Any], name: str, version: int) -> tuple[dict[str, Any], bool]:
        """Soft-delete a version and withdraw its submissions; returns the version and whether
        its bundle is still used by another live version (same content)."""
        row = self.version(name, version)
        if row["owner"] != user["name"]:
            raise Forbidden(f"policy {name!r} belongs to {row['owner']}; only they can delete its versions")
        now = utc_now()
        with self._write() as con:
            con.execute("UPDATE policy_versions SET deleted_at = ? WHERE id = ?", (now, row["id"]))
            con.execute(
                "UPDATE submissions SET status = 'withdrawn', message = 'version deleted', updated_at = ?"
                " WHERE version_id = ? AND status = 'active'", (now, row["id"]))
            still_used = con.execute(
                "SELECT 1 FROM policy_versions WHERE blob_sha256 = ? AND deleted_at IS NULL", (row["sha256"],)
            ).fetchone() is not None
        return row, still_used

    # -- seasons --------------------------------------------------------------------------------

    def create_season(self, name: str, settings: dict[str, Any], status: str = "open") -> dict[str, Any]:
        check_name("season", name)
        with self._write() as con:
            if con.execute("SELECT 1 FROM seasons WHERE name = ?", (name,)).fetchone():
                raise Conflict(f"season {name!r} already exists")
            con.execute(
                "INSERT INTO seasons (name, status, settings_json, created_at) VALUES (?, ?, ?, ?)",
                (name, status, json.dumps(settings, sort_keys=True), utc_now()),
            )
        return self.season(name)

    def update_season(self, name: str, status: str | None = None,
                      settings: dict[str, Any] | None = None) -> dict[str, Any]:
        self.season(name)
        with self._write() as con:
            if status is not None:
                con.execute("UPDATE seasons SET status = ? WHERE name = ?", (status, name))
            if settings is not None:
                con.execute("UPDATE seasons SET settings_json = ? WHERE name = ?",
                            (json.dumps(settings, sort_keys=True), name))
        return self.season(name)

    _SEASON_SQL = (
        "SELECT id, name, status, settings_json, created_at,"
        " (SELECT COUNT(*) FROM submissions s WHERE s.season_id = seasons.id AND s.status = 'active')"
        " AS active_submissions,"
        " (SELECT COUNT(*) FROM matches m WHERE m.season_id = seasons.id AND m.status = 'done') AS matches_played,"
        " (SELECT COUNT(*) FROM matches m WHERE m.season_id = seasons.id AND m.status = 'error') AS matches_failed,"
        " (SELECT m.error FROM matches m WHERE m.season_id = seasons.id AND m.status = 'error'"
        "  ORDER BY m.id DESC LIMIT 1) AS last_error"
        " FROM seasons"
    )

    def season(self, name: str) -> dict[str, Any]:
        row = self._one(self._SEASON_SQL + " WHERE name = ?", (name,))
        if row is None:
            known = ", ".join(s["name"] for s in self.seasons()) or "none"
            raise NotFound(f"no season named {name!r} (seasons: {known})")
        return _season(row)

    def seasons(self) -> list[dict[str, Any]]:
        return [_season(row) for row in self._all(self._SEASON_SQL + " ORDER BY id")]

    # -- submissions ----------------------------------------------------------------------------

    def submit(self, user: dict[str, Any], season_name: str, policy_name: str,
               version: int | None = None) -> dict[str, Any]:
        """Enter a version (the newest by default) in a season; re-entering a withdrawn or
        failed one makes it active again with its history."""
        season = self.season(season_name)
        row = self.version(policy_name, version)
        if row["owner"] != user["name"]:
            raise Forbidden(f"policy {policy_name!r} belongs to {row['owner']}; only they can submit it")
        if season["status"] != "open":
            raise Conflict(f"season {season_name!r} is {season['status']}")
        now = utc_now()
        with self._write() as con:
            existing = self._one(
                "SELECT id, status FROM submissions WHERE season_id = ? AND version_id = ?", (season["id"], row["id"]))
            if existing is None:
                submission_id = con.execute(
                    "INSERT INTO submissions (season_id, version_id, status, rating, created_at, updated_at)"
                    " VALUES (?, ?, 'active', ?, ?, ?)", (season["id"], row["id"], BASE_RATING, now, now)).lastrowid
            elif existing["status"] == "active":
                raise Conflict(f"{policy_name}:v{row['version']} is already submitted to {season_name}")
            else:
                submission_id = existing["id"]
                con.execute("UPDATE submissions SET status = 'active', message = '', updated_at = ? WHERE id = ?",
                            (now, submission_id))
        return self.submission(submission_id)

    _SUBMISSION_COLUMNS = (
        "s.id, se.name AS season, p.name AS policy, u.name AS owner, v.version, s.status, s.message, s.rating,"
        " s.created_at, s.updated_at"
    )
    _SUBMISSION_FROM = (
        "submissions s JOIN seasons se ON se.id = s.season_id JOIN policy_versions v ON v.id = s.version_id"
        " JOIN policies p ON p.id = v.policy_id JOIN users u ON u.id = p.owner_id"
    )

    def submission(self, submission_id: int) -> dict[str, Any]:
        row = self._one(f"SELECT {self._SUBMISSION_COLUMNS} FROM {self._SUBMISSION_FROM} WHERE s.id = ?",
                        (submission_id,))
        if row is None:
            raise NotFound(f"no submission with id {submission_id}")
        return self._with_standing([row])[0]

    def submissions_of(self, user: dict[str, Any], season_name: str | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT {self._SUBMISSION_COLUMNS} FROM {self._SUBMISSION_FROM} WHERE u.id = ?"
        args: list[Any] = [user["id"]]
        if season_name is not None:
            self.season(season_name)
            sql += " AND se.name = ?"
            args.append(season_name)
        return self._with_standing(self._all(sql + " ORDER BY s.id", args))

    def _with_standing(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add rank (active submissions only: None otherwise), matches, wins, draws, losses,
        mean score and failed matches (errors, last_error)."""
        boards: dict[str, dict[int, dict[str, Any]]] = {}
        for row in rows:
            if row["season"] not in boards:
                boards[row["season"]] = {e["submission_id"]: e for e in self.leaderboard(row["season"])}
            entry = boards[row["season"]].get(row["id"]) or self._record(row["id"])
            row.update(rank=entry.get("rank"), **{key: entry[key] for key in (
                "matches", "wins", "draws", "losses", "mean_score", "errors", "last_error")})
        return rows

    def withdraw(self, user: dict[str, Any], submission_id: int) -> dict[str, Any]:
        row = self.submission(submission_id)
        if row["owner"] != user["name"]:
            raise Forbidden(f"submission {submission_id} belongs to {row['owner']}; only they can withdraw it")
        with self._write() as con:
            con.execute("UPDATE submissions SET status = 'withdrawn', message = 'withdrawn by owner', updated_at = ?"
                        " WHERE id = ?", (utc_now(), submission_id))
        return self.submission(submission_id)

    # -- leaderboard ----------------------------------------------------------------------------

    _RECORD_SQL = (
        "SELECT COUNT(m.id) AS matches,"
        " COALESCE(SUM(m.winner_submission_id = mp.submission_id), 0) AS wins,"
        " COALESCE(SUM(m.id IS NOT NULL AND m.winner_submission_id IS NULL), 0) AS draws,"
        " AVG(CASE WHEN m.id IS NOT NULL THEN mp.score END) AS mean_score"
        " FROM match_participants mp LEFT JOIN matches m ON m.id = mp.match_id AND m.status = 'done'"
    )

    _ERRORS_SQL = (
        "SELECT COUNT(*) AS errors, (SELECT m2.error FROM match_participants p2 JOIN matches m2 ON m2.id = p2.match_id"
        "  WHERE p2.submission_id = ?1 AND m2.status = 'error' ORDER BY m2.id DESC LIMIT 1) AS last_error"
        " FROM match_participants mp JOIN matches m ON m.id = mp.match_id WHERE mp.submission_id = ?1"
        " AND m.status = 'error'"
    )

    def _record(self, submission_id: int) -> dict[str, Any]:
        """A submission's finished matches (wins, draws, losses, mean score) and its failed ones
        (`errors`, with the newest reason in `last_error`)."""
        record = self._one(self._RECORD_SQL + " WHERE mp.submission_id = ?", (submission_id,))
        errors = self._one(self._ERRORS_SQL, (submission_id,))
        assert record is not None and errors is not None
        record["losses"] = record["matches"] - record["wins"] - record["draws"]
        return {**record, **errors}

    def _season_records(self, season_id: int) -> dict[int, dict[str, Any]]:
        """`_record` of every submission of a season that took part in a match (the others have
        `_NO_RECORD`), in two grouped queries: two per submission made a large season's
        leaderboard the server's slowest request (docs/tournament.md, "Load")."""
        records = {row["submission_id"]: row for row in self._all(
            "SELECT mp.submission_id, COUNT(m.id) AS matches,"
            " COALESCE(SUM(m.winner_submission_id = mp.submission_id), 0) AS wins,"
            " COALESCE(SUM(m.id IS NOT NULL AND m.winner_submission_id IS NULL), 0) AS draws,"
            " AVG(CASE WHEN m.id IS NOT NULL THEN mp.score END) AS mean_score"
            " FROM match_participants mp JOIN submissions s ON s.id = mp.submission_id"
            " LEFT JOIN matches m ON m.id = mp.match_id AND m.status = 'done'"
            " WHERE s.season_id = ? GROUP BY mp.submission_id", (season_id,))}
        for row in self._all(
                "SELECT e.submission_id, e.errors, m.error AS last_error FROM (SELECT mp.submission_id,"
                " COUNT(*) AS errors, MAX(m.id) AS last_id FROM match_participants mp JOIN matches m"
                " ON m.id = mp.match_id WHERE m.season_id = ? AND m.status = 'error' GROUP BY mp.submission_id) e"
                " JOIN matches m ON m.id = e.last_id", (season_id,)):
            records[row.pop("submission_id")].update(row)
        return {submission_id: {"matches": r["matches"], "wins": r["wins"], "draws": r["draws"],
                                "mean_score": r["mean_score"], "losses": r["matches"] - r["wins"] - r["draws"],
                                "errors": r.get("errors", 0), "last_error": r.get("last_error")}
                for submission_id, r in records.items()}

    def leaderboard(self, season_name: str) -> list[dict[str, Any]]:
        """Active submissions of a season, best first: rank, policy, owner, version, rating,
        matches, wins, draws, losses, mean score, and failed matches (errors, last_error)."""
        season = self.season(season_name)
        rows = self._all(
            "SELECT s.id AS submission_id, p.name AS policy, u.name AS owner, v.version, s.rating"
            f" FROM {self._SUBMISSION_FROM} WHERE s.season_id = ? AND s.status = 'active'", (season["id"],))
        records = self._season_records(season["id"])
        for row in rows:
            row.update(records.get(row["submission_id"]) or _NO_RECORD)
        rows.sort(key=lambda r: (-r["rating"], -r["wins"], r["submission_id"]))
        return [{"rank": index + 1, **row} for index, row in enumerate(rows)]

    def matches(self, season_name: str, limit: int = 50) -> list[dict[str, Any]]:
        """The newest matches of a season, with their participants in position order."""
        season = self.season(season_name)
        matches = self._all(
            "SELECT id, status, seed, winner_submission_id, replay_path, error, started_at, finished_at, duration_s"
            " FROM matches WHERE season_id = ? ORDER BY id DESC LIMIT ?", (season["id"], limit))
        for match in matches:
            match["participants"] = self._all(
                "SELECT mp.position, mp.submission_id, p.name AS policy, u.name AS owner, v.version, mp.score"
                f" FROM {self._SUBMISSION_FROM} JOIN match_participants mp ON mp.submission_id = s.id"
                " WHERE mp.match_id = ? ORDER BY mp.position", (match["id"],))
        return matches

    # -- the match scheduler's side -------------------------------------------------------------

    def schedulable(self, season_id: int) -> list[dict[str, Any]]:
        """Active submissions of a season with their bundles and how many matches they have
        played or are playing."""
        return self._all(
            "SELECT s.id AS submission_id, p.name AS policy, v.version, v.blob_sha256 AS sha256, v.blob_path,"
            " (SELECT COUNT(*) FROM match_participants mp JOIN matches m ON m.id = mp.match_id"
            "  WHERE mp.submission_id = s.id AND m.status IN ('running', 'done')) AS matches"
            f" FROM {self._SUBMISSION_FROM} WHERE s.season_id = ? AND s.status = 'active' ORDER BY s.id",
            (season_id,))

    def head_to_head(self, submission_id: int) -> dict[int, int]:
        """How many running or finished matches `submission_id` shared with each opponent."""
        rows = self._all(
            "SELECT other.submission_id AS opponent, COUNT(*) AS n FROM match_participants mine"
            " JOIN match_participants other ON other.match_id = mine.match_id"
            " AND other.submission_id != mine.submission_id JOIN matches m ON m.id = mine.match_id"
            " WHERE mine.submission_id = ? AND m.status IN ('running', 'done') GROUP BY other.submission_id",
            (submission_id,))
        return {row["opponent"]: row["n"] for row in rows}

    def start_match(self, season_id: int, submission_ids: Sequence[int]) -> tuple[int, int]:
        """Record a running match; returns its id and seed (the id: deterministic per match)."""
        with self._write() as con:
            match_id = con.execute(
                "INSERT INTO matches (season_id, status, seed, started_at) VALUES (?, 'running', 0, ?)",
                (season_id, utc_now())).lastrowid
            con.execute("UPDATE matches SET seed = id WHERE id = ?", (match_id,))
            con.executemany(
                "INSERT INTO match_participants (match_id, position, submission_id) VALUES (?, ?, ?)",
                [(match_id, position, sid) for position, sid in enumerate(submission_ids)])
        return match_id, match_id

    def finish_match(self, match_id: int, scores: Sequence[float], duration_s: float,
                     replay_path: str | None = None) -> None:
        """Store the scores (one per position), the winner (the unique top score; none on a
        tie) and re-rate the season."""
        participants = self._all(
            "SELECT position, submission_id FROM match_participants WHERE match_id = ? ORDER BY position", (match_id,))
        if len(scores) != len(participants):
            raise ValueError(f"match {match_id}: {len(participants)} participants but {len(scores)} scores")
        best = max(scores)
        leaders = [p["submission_id"] for p, score in zip(participants, scores) if score == best]
        winner = leaders[0] if len(leaders) == 1 else None
        with self._write() as con:
            con.executemany("UPDATE match_participants SET score = ? WHERE match_id = ? AND position = ?",
                            [(float(score), match_id, p["position"]) for p, score in zip(participants, scores)])
            con.execute(
                "UPDATE matches SET status = 'done', winner_submission_id = ?, finished_at = ?, duration_s = ?,"
                " replay_path = ? WHERE id = ?", (winner, utc_now(), duration_s, replay_path, match_id))
            season_id = con.execute("SELECT season_id FROM matches WHERE id = ?", (match_id,)).fetchone()[0]
            self._rate_season(season_id)

    def fail_match(self, match_id: int, error: str, duration_s: float | None = None,
                   failed_position: int | None = None) -> None:
        """Record a match that could not be played; when one participant is to blame (its
        policy does not load or play), its submission is marked failed with the reason."""
        with self._write() as con:
            con.execute("UPDATE matches SET status = 'error', error = ?, finished_at = ?, duration_s = ? WHERE id = ?",
                        (error, utc_now(), duration_s, match_id))
            if failed_position is not None:
                submission_id = con.execute(
                    "SELECT submission_id FROM match_participants WHERE match_id = ? AND position = ?",
                    (match_id, failed_position)).fetchone()[0]
                self._fail_submission(submission_id, error)

    def fail_submission(self, submission_id: int, message: str) -> None:
        """Take a submission out of play because its policy cannot play; the owner sees why."""
        with self._write():
            self._fail_submission(submission_id, message)

    def _fail_submission(self, submission_id: int, message: str) -> None:
        self.con.execute("UPDATE submissions SET status = 'failed', message = ?, updated_at = ?"
                         " WHERE id = ? AND status = 'active'", (message, utc_now(), submission_id))

    def abandon_running_matches(self) -> int:
        """Matches left running by a server that stopped: they become errors."""
        with self._write() as con:
            return con.execute(
                "UPDATE matches SET status = 'error', error = 'the server stopped during the match', finished_at = ?"
                " WHERE status = 'running'", (utc_now(),)).rowcount

    def _rate_season(self, season_id: int) -> None:
        """Refit every rating of a season from all of its finished matches (any submission
        status: a withdrawn policy's games still tell how strong its opponents were)."""
        rows = self.con.execute(
            "SELECT mp.match_id, mp.submission_id, mp.score FROM match_participants mp"
            " JOIN matches m ON m.id = mp.match_id WHERE m.season_id = ? AND m.status = 'done'"
            " ORDER BY mp.match_id, mp.position", (season_id,)).fetchall()
        by_match: dict[int, list[tuple[int, float]]] = {}
        for match_id, submission_id, score in rows:
            by_match.setdefault(match_id, []).append((submission_id, score))
        outcomes = []
        for players in by_match.values():
            outcomes += pairwise_outcomes([p for p, _ in players], [s for _, s in players])
        everyone = [r[0] for r in self.con.execute("SELECT id FROM submissions WHERE season_id = ?", (season_id,))]
        ratings = bradley_terry(outcomes, players=everyone)
        # Rounded: equal records then get equal ratings, not ones a rounding error apart.
        self.con.executemany("UPDATE submissions SET rating = ? WHERE id = ?",
                             [(round(rating, 3), sid) for sid, rating in ratings.items()])


_NO_RECORD = {"matches": 0, "wins": 0, "draws": 0, "mean_score": None, "losses": 0, "errors": 0, "last_error": None}


def _season(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["settings"] = json.loads(row.pop("settings_json"))
    return row
