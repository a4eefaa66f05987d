"""`cogames login|upload|submit|submissions|seasons|leaderboard`: the tournament server's commands.

They talk to the server of `metta/tournament/` through `TournamentClient`; the login file
(`$COGAMES_TOKEN_FILE` or `~/.metta/cogames_token.json`) remembers the server and token.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from metta.tournament.client import (
    DEFAULT_SERVER,
    BundleError,
    Login,
    LoginFileError,
    TournamentClient,
    TournamentError,
    bundle_policy,
    check_server_url,
    load_login,
    parse_policy_ref,
    save_login,
    token_file_path,
    validate_bundle,
)
from mettagrid.errors import ConfigError

DEFAULT_SEASON = "beta-cogsguard"
# `my_module.MyPolicy`: the guide's Python-class upload, which bundles cannot hold.
PYTHON_CLASS = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
# What `upload` checks a policy on: the mission of the server's default season.
CHECK_MISSION = "cogsguard_arena.basic"


class CommandError(Exception):
    """One line for the user; exit code 2."""


def add_commands(commands: argparse._SubParsersAction) -> None:
    login = commands.add_parser("login", help="Sign up (or store an existing token) for a tournament server")
    login.add_argument("--server", default=None, help=f"Server URL (default: the stored one, else {DEFAULT_SERVER})")
    login.add_argument("--user", help="User name to sign up as (default: your login name)")
    login.add_argument("--token", help="An existing token to store instead of signing up")
    login.set_defaults(run=cmd_login)

    upload = commands.add_parser("upload", help="Validate a policy and upload it as a new version")
    upload.add_argument("-p", "--policy", required=True, help="Checkpoint, run directory, file://, s3:// or metta://policy/...")
    upload.add_argument("-n", "--name", required=True, help="Policy name on the server")
    upload.add_argument("-f", "--file", action="append", default=[], help="Extra file or directory to include")
    upload.add_argument("-m", "--mission", default=CHECK_MISSION,
                        help=f"Mission or env config the check step runs in (default: {CHECK_MISSION}, "
                             "the default season's)")
    upload.add_argument("--description", default="")
    upload.add_argument("--dry-run", action="store_true", help="Bundle and validate only; upload nothing")
    upload.set_defaults(run=cmd_upload)

    submit = commands.add_parser("submit", help="Enter a policy version in a season")
    submit.add_argument("policy", help="NAME or NAME:vN (default: the newest version)")
    submit.add_argument("--season", default=DEFAULT_SEASON)
    submit.set_defaults(run=cmd_submit)

    submissions = commands.add_parser("submissions", help="Your submissions, their status and rank")
    submissions.add_argument("--season", default=None)
    submissions.add_argument("--json", action="store_true")
    submissions.set_defaults(run=cmd_submissions)

    seasons = commands.add_parser("seasons", help="The server's seasons")
    seasons.add_argument("--json", action="store_true")
    seasons.set_defaults(run=cmd_seasons)

    board = commands.add_parser("leaderboard", help="A season's ranking")
    board.add_argument("--season", default=DEFAULT_SEASON)
    board.add_argument("--json", action="store_true")
    board.set_defaults(run=cmd_leaderboard)


# What a user who cannot reach the server is told to do.
START_HINT = "start a server with devops/tournament_server.sh (docs/tournament.md) or pass --server URL"


def _login() -> Login | None:
    try:
        return load_login()
    except ValueError as error:  # a damaged login file
        raise CommandError(str(error)) from None


def _client(need_login: bool = True) -> TournamentClient:
    login = _login()
    if login is None:
        if need_login:
            raise CommandError("not logged in: run `cogames login --user NAME` (or --token TOKEN) first")
        return TournamentClient(DEFAULT_SERVER)
    return TournamentClient(login.server, login.token)


def cmd_login(args) -> None:
    if args.server is not None:
        try:
            check_server_url(args.server)
        except ValueError as error:
            raise CommandError(f"--server {error}") from None
    try:
        login = load_login()
    except LoginFileError as error:
        if not token_file_path().is_file():
            raise CommandError(str(error)) from None  # a directory, say: no login can be written there
        login = None  # a damaged login file: this login replaces it
    server = check_server_url(args.server or (login.server if login else DEFAULT_SERVER))
    if login and not args.token and login.server == server and args.user in (None, login.user):
        try:  # logging in again where the stored token still works is not a second sign-up
            TournamentClient(server, login.token).whoami()
        except TournamentError as error:
            if error.status is None:
                raise
        else:
            print(f"already logged in to {server} as {login.user} (log in as another user with --user NAME)")
            return
    if args.token:
        user, token = TournamentClient(server, args.token).whoami()["name"], args.token
    else:
        name = args.user or getpass.getuser()
        try:
            created = TournamentClient(server).signup(name)
        except TournamentError as error:
            if error.status is None:  # not reached: run_command says how to start one
                raise
            hint = "" if args.user else " (pick a name with --user NAME, or store a token with --token TOKEN)"
            raise CommandError(f"login: {error}{hint}") from None
        user, token = created["name"], created["token"]
    path = save_login(server, user, token)
    print(f"logged in to {server} as {user} (token saved to {path})")


def cmd_upload(args) -> None:
    try:
        if (PYTHON_CLASS.fullmatch(args.policy) and not args.policy.endswith((".pt", ".zip", ".gz"))
                and not Path(args.policy).exists()):
            raise CommandError(f"upload: {args.policy} looks like a Python class; the server runs nothing from a "
                               "bundle, so upload a trained checkpoint (a run directory or .pt) or a built-in "
                               "(metta://policy/<name>)")
        bundle = bundle_policy(_upload_source(args.policy), extra_files=args.file)  # refuses a bad -p first
        manifest = validate_bundle(bundle, env=args.mission)
    except BundleError as error:
        raise CommandError(f"upload: {error}") from None
    except ConfigError as error:
        raise CommandError(f"upload: -m {args.mission}: {error}") from None
    print(f"validated {args.policy}: loads and steps ({bundle.stat().st_size} bytes bundled)")
    if args.dry_run:
        print(f"dry run: nothing uploaded (bundle at {bundle})")
        return
    try:
        result = _client().upload(args.name, bundle, args.description)
    finally:
        shutil.rmtree(bundle.parent, ignore_errors=True)  # bundle_policy's own temporary directory
    print(f"uploaded {args.name}:v{result['version']} ({manifest.kind})")


def _upload_source(policy: str) -> str:
    """What `-p` names, for bundle_policy: a built-in's bare name (`role`, `miner?gear=2`), as
    `cogames play -p` takes it, becomes its metta://policy/ URI; `run_dir:vN` that checkpoint."""
    from metta.agent.builtin_names import BUILTIN_PREFIX, BuiltinNameError, parse_builtin
    from metta.cogames.game_commands import check_policy_text, expand_versioned_run

    source = expand_versioned_run(check_policy_text(policy))
    if "://" in source or Path(source.split("?")[0]).exists():
        return source
    try:
        parse_builtin(source)
    except BuiltinNameError:
        return source  # bundle_policy says why it is not a checkpoint
    return BUILTIN_PREFIX + source


def cmd_submit(args) -> None:
    try:
        name, version = parse_policy_ref(args.policy)
    except ValueError as error:
        raise CommandError(f"submit: {error}") from None
    result = _client().submit(args.season, name, version)
    shown = result.get("version", version)
    print(f"submitted {name}:v{shown} to {args.season} (submission {result.get('id')})")


def cmd_submissions(args) -> None:
    rows = _client().submissions(args.season)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print("no submissions")
    for row in rows:
        rank = row.get("rank")
        print(f"{row.get('id')}: {row.get('policy')}:v{row.get('version')} in {row.get('season')} - "
              f"{row.get('status')}" + (f", rank {rank}" if rank else "") + f", {row.get('matches', 0)} matches"
              + _failures(row.get("errors"), row.get("last_error"))
              + (f" ({row['message']})" if row.get("status") == "failed" and row.get("message") else ""))


def _failures(count: int | None, last_error: str | None) -> str:
    """`, 3 failed (last: why)` when matches failed, else nothing."""
    return f", {count} failed (last: {last_error})" if count else ""


def cmd_seasons(args) -> None:
    rows = _client(need_login=False).seasons()
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(f"{row.get('name')}: {row.get('status')}" + _settings_summary(row.get("settings") or {})
              + f", {row.get('matches_played', 0)} matches played"
              + _failures(row.get("matches_failed"), row.get("last_error")))


def _settings_summary(settings: dict[str, Any]) -> str:
    env = settings.get("env")
    return f" (env {env})" if env else ""


def cmd_leaderboard(args) -> None:
    standings = _client(need_login=False).standings(args.season)
    rows = standings["entries"]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print(f"{args.season}: no ranked policies yet")
    for row in rows:
        print(f"{row.get('rank'):>3}. {row.get('policy')}:v{row.get('version')} ({row.get('owner')}) "
              f"rating {row.get('rating', 0):.0f}, {row.get('matches', 0)} matches, {row.get('wins', 0)} wins"
              + _failures(row.get("errors"), row.get("last_error")))
    if standings.get("matches_failed"):
        print(f"{args.season}: {standings.get('matches_played', 0)} matches played"
              + _failures(standings["matches_failed"], standings.get("last_error")))


def run_command(args) -> int:
    """Run a parsed command; a user error is one `error:` line and exit code 2."""
    try:
        args.run(args)
    except TournamentError as error:
        hint = f" ({START_HINT})" if error.status is None and str(error).startswith("cannot reach") else ""
        print(f"error: {error}{hint}", file=sys.stderr)
        return 2
    except (CommandError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
