"""The tournament web service (aiohttp): users, policy uploads, seasons, submissions and
leaderboards over one SQLite file, with matches played in the background.

    python -m metta.tournament.server --db train_dir/tournament/tournament.db \\
        --storage train_dir/tournament/storage --host 127.0.0.1 --port 8765

prints `tournament server: http://127.0.0.1:8765` on stdout once it accepts requests, and
runs until SIGINT or SIGTERM. `--add-user NAME [--admin]` instead creates a user, prints its
token and exits (how admins are made, and users when `--no-open-signup`).

Every answer is JSON; a refusal is `{"error": "<one line>"}` with its HTTP status (400 bad
request, 401 no or bad token, 403 not yours, not allowed or past the version quota, 404
unknown, 409 conflict, 413 too large or past the byte quota, 429 rate limited). No message
shows the server's paths (`_scrub`). Mutating endpoints need `Authorization: Bearer <token>`;
the endpoint table and the limits are in docs/tournament.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import re
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import ValidationError

from metta.common.cli_parser import CliParser
from metta.common.uri import first_line
from metta.tournament.bundle import DEFAULT_LIMITS, BundleError, BundleLimits, BundleTooLarge, check_upload
from metta.tournament.db import (
    NO_QUOTA,
    SCHEMA_VERSION,
    Database,
    Forbidden,
    Quota,
    RateLimited,
    TooLarge,
    TournamentDbError,
    Unauthorized,
)
from metta.tournament.limits import RateLimiter, scrub_paths
from metta.tournament.matches import SeasonSettings
from metta.tournament.scheduler import DEFAULT_RUNNER, MatchScheduler
from metta.tournament.storage import BundleStore

DEFAULT_SEASON = "beta-cogsguard"
DEFAULT_SEASON_ENV = "cogsguard_arena.basic"
DEFAULT_PORT = 8765

DB_KEY = web.AppKey("db", Database)
STORE_KEY = web.AppKey("store", BundleStore)
SCHEDULER_KEY = web.AppKey("scheduler", object)  # MatchScheduler, or None without matches
OPTIONS_KEY = web.AppKey("options", dict)
LIMITERS_KEY = web.AppKey("limiters", dict)  # "address" and "user": RateLimiter

# Versions, ids and limits in URLs: ASCII digits only (str.isdigit also takes '²', which int()
# then refuses), and few enough to fit SQLite's integers.
_NUMBER_RE = re.compile(r"[0-9]{1,9}")
_VERSION_RE = re.compile(r"[vV]?([0-9]{1,9})")
MAX_DESCRIPTION_BYTES = 4000
JSON_BODY_LIMIT = 1 << 20  # JSON bodies are read whole; uploads stream past this


class BadRequest(TournamentDbError):
    status = 400


# ---------------------------------------------------------------------------------------------
# plumbing: errors, auth, bodies


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _scrub(request: web.Request, text: str) -> str:
    """A message without the server's paths (its storage and database directories are named,
    any other absolute path cut to its last part), on one line."""
    named = {request.app[STORE_KEY].root: "<storage>", request.app[DB_KEY].path.resolve().parent: "<db>"}
    return " ".join(scrub_paths(text, named).split())


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except RateLimited as error:
        return _error(429, str(error), headers={"Retry-After": str(max(1, math.ceil(error.retry_after)))})
    except TournamentDbError as error:
        return _error(error.status, " ".join(str(error).split()))
    except BundleError as error:
        return _error(413 if isinstance(error, BundleTooLarge) else 400, _scrub(request, str(error)))
    except HttpProcessingError as error:  # a multipart part's headers, parsed only as the handler reads them
        return _error(400, f"malformed request ({type(error).__name__}: bad headers in the body)")
    except web.HTTPException as error:
        if error.status < 400:
            raise
        if error.status == 404:
            return _error(404, f"no such endpoint: {request.method} {request.path!r}")
        if error.status == 405:
            return _error(405, f"{request.method} is not allowed on {request.path!r}")
        return _error(error.status, error.reason)
    except Exception as error:  # noqa: BLE001  (one line to the client, the traceback to the log)
        traceback.print_exc(file=sys.stderr)
        return _error(500, _scrub(request, f"internal error ({type(error).__name__}: {first_line(error)}); "
                                           "the server's log has the details"))


@web.middleware
async def _rate_limit(request: web.Request, handler: Any) -> web.StreamResponse:
    """One token per request from the client's address (every user behind it shares them);
    `_user` takes another from the user's own bucket."""
    wait = request.app[LIMITERS_KEY]["address"].acquire(request.remote or "?")
    if wait is not None:
        raise RateLimited(f"too many requests from {request.remote}; retry in {math.ceil(wait)}s", wait)
    return await handler(request)


def _user(request: web.Request) -> dict[str, Any]:
    header = request.headers.get("Authorization", "")
    if not header:
        raise Unauthorized("this needs a token: send 'Authorization: Bearer <token>' (run `cogames login`)")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("malformed Authorization header (expected 'Bearer <token>')")
    user = request.app[DB_KEY].user_for_token(token.strip())
    if user is None:
        raise Unauthorized("invalid token (log in again with `cogames login`)")
    wait = request.app[LIMITERS_KEY]["user"].acquire(user["id"])
    if wait is not None:
        raise RateLimited(f"too many requests from {user['name']}; retry in {math.ceil(wait)}s", wait)
    return user


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("the request body must be a JSON object") from None
    except RecursionError:
        raise BadRequest("the request body is nested too deeply") from None
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge(f"the request body is larger than {JSON_BODY_LIMIT >> 10} KiB") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def _version_number(text: Any) -> int | None:
    """`3`, `"3"` or `"v3"` -> 3; None stays None (the newest)."""
    if text is None:
        return None
    raw = str(text)[:40]
    match = _VERSION_RE.fullmatch(raw)
    if match is None or int(match[1]) < 1 or isinstance(text, bool):
        raise BadRequest(f"bad version {raw!r} (expected a number like 3 or v3)")
    return int(match[1])


def _number(kind: str, raw: str) -> int:
    if not _NUMBER_RE.fullmatch(raw):
        raise BadRequest(f"bad {kind} {raw[:40]!r} (expected a number)")
    return int(raw)


def _public_version(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in ("policy", "owner", "version", "kind", "source", "sha256", "size_bytes",
                                      "description", "created_at")}


def _public_policy(policy: dict[str, Any]) -> dict[str, Any]:
    return {**policy, "versions": [_public_version(v) for v in policy["versions"]]}


def _public_season(season: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in season.items() if key != "id"}


def _settings(data: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadRequest("season settings must be a JSON object")
    try:
        return SeasonSettings.model_validate({**(base or {}), **data}).model_dump()
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise BadRequest(f"bad season settings ({problems})") from None


def _require_admin(user: dict[str, Any]) -> None:
    if not user["is_admin"]:
        raise Forbidden("only an admin can do this")


def _wake_scheduler(request: web.Request) -> None:
    scheduler = request.app[SCHEDULER_KEY]
    if scheduler is not None:
        scheduler.wake()


# ---------------------------------------------------------------------------------------------
# users


async def index(request: web.Request) -> web.Response:
    routes = sorted({f"{r.method} {r.resource.canonical}" for r in request.app.router.routes() if r.method != "HEAD"})
    return web.json_response({"service": "metta tournament", "endpoints": routes})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "schema_version": SCHEMA_VERSION})


async def create_user(request: web.Request) -> web.Response:
    body = await _json_body(request)
    if not request.app[OPTIONS_KEY]["open_signup"] or body.get("admin"):
        caller = _user(request) if request.headers.get("Authorization") else None
        if caller is None or not caller["is_admin"]:
            raise Forbidden("sign-up is closed on this server: an admin creates users" if not
                            request.app[OPTIONS_KEY]["open_signup"] else "only an admin can create an admin")
    user, token = request.app[DB_KEY].create_user(body.get("name"), is_admin=bool(body.get("admin")))
    return web.json_response({"name": user["name"], "is_admin": user["is_admin"], "created_at": user["created_at"],
                              "token": token}, status=201)


async def whoami(request: web.Request) -> web.Response:
    user = _user(request)
    return web.json_response({key: user[key] for key in ("name", "is_admin", "created_at")})


async def create_token(request: web.Request) -> web.Response:
    user = _user(request)
    return web.json_response({"name": user["name"], "token": request.app[DB_KEY].new_token(user["id"])}, status=201)


# ---------------------------------------------------------------------------------------------
# policies


async def my_policies(request: web.Request) -> web.Response:
    user = _user(request)
    return web.json_response({"policies": [_public_policy(p) for p in request.app[DB_KEY].policies_of(user)]})


async def get_policy(request: web.Request) -> web.Response:
    return web.json_response(_public_policy(request.app[DB_KEY].policy(request.match_info["name"])))


async def upload_version(request: web.Request) -> web.Response:
    """multipart/form-data: a `bundle` file and an optional `description` text."""
    user = _user(request)
    name = request.match_info["name"]
    db, store, options = request.app[DB_KEY], request.app[STORE_KEY], request.app[OPTIONS_KEY]
    db.check_can_upload(user, name)  # refuse before reading the body
    free = db.check_quota(user, options["quota"])
    if not request.content_type.startswith("multipart/"):
        raise BadRequest("upload the bundle as multipart/form-data with a 'bundle' file field")
    received: Path | None = None
    try:
        description, filename = "", "bundle"
        async for part in await request.multipart():
            if part.name == "bundle" and received is None:
                filename = _shown_filename(part.filename)
                received = store.incoming_path()
                limit = options["max_upload_bytes"]
                too_large = f"the bundle is larger than this server's limit of {limit >> 20} MiB"
                if free is not None and free < limit:
                    limit, too_large = free, (f"quota: this upload would take your stored bundles past this "
                                              f"server's {options['quota'].max_bytes >> 20} MiB per user; "
                                              "delete old versions first")
                sha256, size = await _receive(part, received, limit, too_large)
            elif part.name == "description":
                description = await _read_text(part, MAX_DESCRIPTION_BYTES, "the description")
            else:
                raise BadRequest(f"unexpected form field {str(part.name)[:40]!r} (expected 'bundle' and "
                                 "'description')")
        if received is None:
            raise BadRequest("the upload has no 'bundle' file field")
        try:
            manifest = await asyncio.get_running_loop().run_in_executor(None, check_upload, received,
                                                                        options["bundle_limits"])
        except BundleError as error:
            raise type(error)(str(error).replace(str(received), filename)) from None
        relative = store.put(received, sha256, manifest.archive_format)
        try:
            version = db.add_version(user, name, kind=manifest.kind, source=manifest.source, blob_sha256=sha256,
                                     blob_path=relative, size_bytes=size, description=description,
                                     quota=options["quota"])
        except TournamentDbError:
            if not db.blob_in_use(sha256):  # refused at the last step: keep nothing of it
                store.remove(sha256, relative)
            raise
    finally:
        if received is not None:
            received.unlink(missing_ok=True)
    return web.json_response({**_public_version(version), "files": list(manifest.files)}, status=201)


def _shown_filename(raw: str | None) -> str:
    """The client's file name as messages may show it: its last part, printable, short."""
    name = (raw or "bundle").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch if ch.isprintable() else "_" for ch in name)[:100]
    return name or "bundle"


async def _read_text(part: Any, limit: int, what: str) -> str:
    data = b""
    while chunk := await part.read_chunk(1 << 14):
        data += chunk
        if len(data) > limit:
            raise TooLarge(f"{what} is longer than {limit} bytes")
    return data.decode("utf-8", "replace")[:1000]


async def _receive(part: Any, target: Path, limit: int, too_large: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    # Local disk: a chunk's write is short next to its network read, so it stays in the loop.
    with open(target, "wb") as file:  # noqa: ASYNC230
        while chunk := await part.read_chunk(1 << 20):
            size += len(chunk)
            if size > limit:
                raise TooLarge(too_large)
            digest.update(chunk)
            file.write(chunk)
    if size == 0:
        raise BadRequest("the uploaded bundle is empty")
    return digest.hexdigest(), size


async def download_version(request: web.Request) -> web.StreamResponse:
    user = _user(request)
    name, number = request.match_info["name"], _version_number(request.match_info["version"])
    row = request.app[DB_KEY].version(name, number)
    if row["owner"] != user["name"]:
        raise Forbidden(f"policy {name!r} belongs to {row['owner']}; only they can download it")
    suffix = row["blob_path"].split(".", 1)[1]
    return web.FileResponse(request.app[STORE_KEY].path(row["blob_path"]), headers={
        "Content-Disposition": f'attachment; filename="{name}-v{row["version"]}.{suffix}"'})


async def delete_version(request: web.Request) -> web.Response:
    user = _user(request)
    name, number = request.match_info["name"], _version_number(request.match_info["version"])
    assert number is not None
    row, still_used = request.app[DB_KEY].delete_version(user, name, number)
    if not still_used:
        request.app[STORE_KEY].remove(row["sha256"], row["blob_path"])
    return web.json_response({"deleted": _public_version(row)})


# ---------------------------------------------------------------------------------------------
# seasons, submissions, leaderboards


async def list_seasons(request: web.Request) -> web.Response:
    return web.json_response({"seasons": [_public_season(s) for s in request.app[DB_KEY].seasons()]})


async def get_season(request: web.Request) -> web.Response:
    return web.json_response(_public_season(request.app[DB_KEY].season(request.match_info["season"])))


async def create_season(request: web.Request) -> web.Response:
    _require_admin(_user(request))
    body = await _json_body(request)
    status = _season_status(body.get("status", "open"))
    season = request.app[DB_KEY].create_season(body.get("name"), _settings(body.get("settings", {})), status)
    _wake_scheduler(request)
    return web.json_response(_public_season(season), status=201)


async def update_season(request: web.Request) -> web.Response:
    _require_admin(_user(request))
    db, name = request.app[DB_KEY], request.match_info["season"]
    body = await _json_body(request)
    status = _season_status(body["status"]) if "status" in body else None
    settings = _settings(body["settings"], base=db.season(name)["settings"]) if "settings" in body else None
    season = db.update_season(name, status=status, settings=settings)
    _wake_scheduler(request)
    return web.json_response(_public_season(season))


def _season_status(status: Any) -> str:
    if status not in ("open", "closed"):
        raise BadRequest(f"bad season status {status!r} (open or closed)")
    return status


async def submit(request: web.Request) -> web.Response:
    user = _user(request)
    body = await _json_body(request)
    policy = body.get("policy")
    if not isinstance(policy, str):
        raise BadRequest("name the policy to submit: {\"policy\": NAME, \"version\": N (default: newest)}")
    row = request.app[DB_KEY].submit(user, request.match_info["season"], policy, _version_number(body.get("version")))
    _wake_scheduler(request)
    return web.json_response(row, status=201)


async def my_submissions(request: web.Request) -> web.Response:
    user = _user(request)
    season = request.query.get("season")
    return web.json_response({"submissions": request.app[DB_KEY].submissions_of(user, season)})


async def withdraw(request: web.Request) -> web.Response:
    user = _user(request)
    submission_id = _number("submission id", request.match_info["id"])
    return web.json_response(request.app[DB_KEY].withdraw(user, submission_id))


async def leaderboard(request: web.Request) -> web.Response:
    db, season = request.app[DB_KEY], request.match_info["season"]
    counts = {key: db.season(season)[key] for key in ("matches_played", "matches_failed", "last_error")}
    return web.json_response({"season": season, **counts, "entries": db.leaderboard(season)})


async def season_matches(request: web.Request) -> web.Response:
    limit = _number("limit", request.query.get("limit", "50"))
    season = request.match_info["season"]
    return web.json_response({"season": season, "matches": request.app[DB_KEY].matches(season, min(limit, 1000))})


# ---------------------------------------------------------------------------------------------
# the app and its command line


def make_app(db: Database, store: BundleStore, scheduler: MatchScheduler | None = None, open_signup: bool = True,
             max_upload_mb: int = 1024, quota: Quota = NO_QUOTA, bundle_limits: BundleLimits = DEFAULT_LIMITS,
             rate_per_user: float = 0.0, burst_per_user: float = 1.0, rate_per_address: float = 0.0,
             burst_per_address: float = 1.0) -> web.Application:
    """The app; rates are requests per second (0: no limit), bursts the requests let through at once."""
    app = web.Application(middlewares=[_errors, _rate_limit], client_max_size=JSON_BODY_LIMIT)
    app[DB_KEY], app[STORE_KEY], app[SCHEDULER_KEY] = db, store, scheduler
    app[OPTIONS_KEY] = {"open_signup": open_signup, "max_upload_bytes": max_upload_mb << 20, "quota": quota,
                        "bundle_limits": bundle_limits}
    app[LIMITERS_KEY] = {"user": RateLimiter(rate_per_user, burst_per_user),
                         "address": RateLimiter(rate_per_address, burst_per_address)}
    app.router.add_routes([
        web.get("/", index),
        web.get("/api/health", health),
        web.post("/api/users", create_user),
        web.get("/api/whoami", whoami),
        web.post("/api/tokens", create_token),
        web.get("/api/policies", my_policies),
        web.get("/api/policies/{name}", get_policy),
        web.post("/api/policies/{name}/versions", upload_version),
        web.get("/api/policies/{name}/versions/{version}/bundle", download_version),
        web.delete("/api/policies/{name}/versions/{version}", delete_version),
        web.get("/api/seasons", list_seasons),
        web.post("/api/seasons", create_season),
        web.get("/api/seasons/{season}", get_season),
        web.patch("/api/seasons/{season}", update_season),
        web.post("/api/seasons/{season}/submissions", submit),
        web.get("/api/seasons/{season}/leaderboard", leaderboard),
        web.get("/api/seasons/{season}/matches", season_matches),
        web.get("/api/submissions", my_submissions),
        web.delete("/api/submissions/{id}", withdraw),
    ])
    return app


def seed_season(db: Database, name: str, env: str, settings_json: str) -> None:
    """Create the default season on first start; an existing one keeps its stored settings."""
    try:
        extra = json.loads(settings_json)
    except ValueError:
        raise SystemExit(f"--season-settings is not valid JSON: {settings_json!r}") from None
    try:
        settings = _settings({"env": env, **extra})
    except BadRequest as error:
        raise SystemExit(f"--season-settings: {error}") from None
    if name not in {s["name"] for s in db.seasons()}:
        db.create_season(name, settings)
        print(f"tournament: created season {name} (env {settings['env']})", file=sys.stderr)
    elif db.season(name)["settings"] != settings:
        print(f"tournament: season {name} exists; it keeps its stored settings (change them with "
              f"PATCH /api/seasons/{name})", file=sys.stderr)


async def serve(args: argparse.Namespace, db: Database) -> None:
    store = BundleStore(args.storage)
    scheduler = None
    if args.match_workers > 0:
        scheduler = MatchScheduler(args.db, store, runner=args.match_runner, workers=args.match_workers,
                                   poll_s=args.match_poll_s)
    app = make_app(db, store, scheduler, open_signup=args.open_signup, max_upload_mb=args.max_upload_mb,
                   quota=Quota(args.max_versions_per_user, args.max_storage_mb_per_user << 20),
                   bundle_limits=BundleLimits(max_members=args.max_bundle_files,
                                              max_unpacked_bytes=args.max_unpacked_mb << 20,
                                              max_expansion=args.max_expansion),
                   rate_per_user=args.rate_per_user, burst_per_user=args.burst_per_user,
                   rate_per_address=args.rate_per_address, burst_per_address=args.burst_per_address)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, args.host, args.port)
        try:
            await site.start()
        except OSError as error:
            raise SystemExit(f"tournament: cannot serve on {args.host}:{args.port} ({error.strerror})") from None
        host, port = runner.addresses[0][:2]
        host = f"[{host}]" if ":" in host else host
        if scheduler is not None:
            scheduler.start()
        print(f"tournament server: http://{host}:{port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        if scheduler is not None:
            scheduler.stop()
        await runner.cleanup()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = CliParser(prog="python -m metta.tournament.server", description=__doc__.split("\n\n")[0],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="SQLite database file (created when missing)")
    parser.add_argument("--storage", help="Directory for uploaded bundles (required to serve)")
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="Port; 0 picks a free one")
    parser.add_argument("--open-signup", action=argparse.BooleanOptionalAction, default=True,
                        help="Anyone may create a user (default); with --no-open-signup only admins can")
    parser.add_argument("--max-upload-mb", type=int, default=1024, help="Largest accepted bundle")
    limits = parser.add_argument_group("limits", "what one user or client may take (docs/tournament.md, "
                                       "\"Limits\"); a quota or rate of 0 turns it off")
    limits.add_argument("--max-versions-per-user", type=int, default=500,
                        help="Live policy versions one user may keep (default 500)")
    limits.add_argument("--max-storage-mb-per-user", type=int, default=20480,
                        help="MiB of bundles one user may keep (default 20480)")
    limits.add_argument("--max-unpacked-mb", type=int, default=4096,
                        help="MiB a bundle may unpack to (default 4096)")
    limits.add_argument("--max-expansion", type=float, default=100.0,
                        help="Past 32 MiB, how many times its archive's size a bundle may unpack to (default 100)")
    limits.add_argument("--max-bundle-files", type=int, default=10_000,
                        help="Entries a bundle may hold, directories included (default 10000)")
    limits.add_argument("--rate-per-user", type=float, default=20.0,
                        help="Requests per second a user may keep up (default 20)")
    limits.add_argument("--burst-per-user", type=float, default=100.0,
                        help="Requests a user may make at once before the rate applies (default 100)")
    limits.add_argument("--rate-per-address", type=float, default=100.0,
                        help="Requests per second one client address may keep up, all its users together "
                             "(default 100)")
    limits.add_argument("--burst-per-address", type=float, default=400.0,
                        help="Requests one address may make at once (default 400)")
    parser.add_argument("--season", default=DEFAULT_SEASON, help="Season created on first start")
    parser.add_argument("--season-env", default=DEFAULT_SEASON_ENV,
                        help="Mission (cogsguard_arena.basic: each policy plays a team) or env config "
                             "(mettagrid/arena/basic) of that season")
    parser.add_argument("--season-settings", default="{}",
                        help="JSON of further settings of that season, e.g. '{\"max_steps\": 200}'")
    parser.add_argument("--match-workers", type=int, default=1, help="Matches played at once; 0 plays none")
    parser.add_argument("--match-runner", default=DEFAULT_RUNNER, help="module:function that plays a match")
    parser.add_argument("--match-poll-s", type=float, default=1.0, help="How often idle workers look for a match")
    parser.add_argument("--add-user", metavar="NAME", help="Create a user, print its token and exit")
    parser.add_argument("--admin", action="store_true", help="With --add-user: make the user an admin")
    args = parser.parse_args(argv)
    if args.add_user is None and args.storage is None:
        parser.error("--storage is required to serve")
    if args.match_workers < 0:
        parser.error("--match-workers must be 0 or more")
    for option in ("max_versions_per_user", "max_storage_mb_per_user", "rate_per_user", "rate_per_address"):
        if getattr(args, option) < 0:
            parser.error(f"--{option.replace('_', '-')} must be 0 (no limit) or more")
    for option in ("max_unpacked_mb", "max_expansion", "max_bundle_files", "burst_per_user", "burst_per_address"):
        if getattr(args, option) <= 0:
            parser.error(f"--{option.replace('_', '-')} must be more than 0")
    # Absolute from here on: the match workers and the bundles' file URIs must not depend on
    # the directory the server was started from.
    args.db = Path(args.db).expanduser().resolve()
    if args.storage is not None:
        args.storage = Path(args.storage).expanduser().resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    db = Database(args.db)
    try:
        if args.add_user is not None:
            try:
                user, token = db.create_user(args.add_user, is_admin=args.admin)
            except TournamentDbError as error:
                print(f"tournament: {error}", file=sys.stderr)
                return 1
            print(token)
            print(f"tournament: created {'admin ' if user['is_admin'] else ''}user {user['name']}", file=sys.stderr)
            return 0
        seed_season(db, args.season, args.season_env, args.season_settings)
        abandoned = db.abandon_running_matches()
        if abandoned:
            print(f"tournament: {abandoned} match(es) left running by the last server marked as errors",
                  file=sys.stderr)
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            print("tournament: listening beyond loopback over plain HTTP; put TLS in front before real use",
                  file=sys.stderr)
        asyncio.run(serve(args, db))
    finally:
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
