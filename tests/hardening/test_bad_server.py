"""The bad-input table of the tournament server and of play.py's WebSocket.

Server rows run against the real server (a process on 127.0.0.1, port 0), each as a fresh
user. Every row asserts the 4xx status, a one-line message with the fragment and no server
path, nothing new in the storage directory, and a server that still answers afterwards. The
`cogames` rows run the real command line and hand it to `assert_refused`. The WebSocket rows
drive a real viewer server with a live play session through aiohttp's client.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import stat
import struct
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from metta.tournament.bundle import BUNDLE_FORMAT
from metta.tournament.client import save_login
from tests.hardening.bad_input import assert_refused, run_command, snapshot
from tests.tournament.test_server import SEASON, Server

MANIFEST = ("policy.json", json.dumps({"format": BUNDLE_FORMAT, "uri": "metta://policy/random"}).encode())
# The table's server: small quotas and bundle limits, so that the rows stay small and quick.
TABLE_FLAGS = ("--match-workers", "0", "--max-versions-per-user", "3", "--max-storage-mb-per-user", "2",
               "--max-upload-mb", "1", "--max-bundle-files", "200")
_users = itertools.count()


# ---------------------------------------------------------------------------------------------
# requests and archives


@dataclass
class Ctx:
    url: str
    token: str
    user: str
    tmp: Path

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
             auth: str | None = "token") -> tuple[int, str]:
        """(status, the answer's `error` or its JSON text) of one raw request."""
        sent = dict(headers or {})
        if auth == "token":
            sent["Authorization"] = f"Bearer {self.token}"
        elif auth is not None:
            sent["Authorization"] = auth
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            try:
                return error.code, json.loads(text)["error"]
            except (ValueError, KeyError, TypeError):
                return error.code, text

    def json(self, method: str, path: str, body: object) -> tuple[int, str]:
        return self.call(method, path, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def upload(self, name: str, bundle: bytes, filename: str = "bundle.zip",
               fields: tuple[tuple[str, bytes], ...] = ()) -> tuple[int, str]:
        boundary = "----table-boundary"
        body = b""
        for field, value in fields:
            body += f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n'.encode() + value + b"\r\n"
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="bundle"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n").encode() + bundle + f"\r\n--{boundary}--\r\n".encode()
        return self.call("POST", f"/api/policies/{urllib.parse.quote(name, safe='')}/versions", body,
                         {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def zip_of(*entries: tuple[str | zipfile.ZipInfo, bytes], level: int = 6) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


def builtin_bundle(*extra: tuple[str | zipfile.ZipInfo, bytes]) -> bytes:
    return zip_of(MANIFEST, *extra)


def symlink_entry() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("files/passwd")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def zip_bomb() -> bytes:
    """About 200 KB that unpacks to 200 MB of zeros."""
    return builtin_bundle(("files/zeros", bytes(200 << 20)))


def lying_zip() -> bytes:
    """A bundle whose extra file's headers declare 10 bytes; its data inflates to 100,000."""
    data = bytearray(builtin_bundle(("files/pad", b"a" * 100_000)))
    # (signature, where the name starts, where the unpacked size sits): local header, directory entry
    for signature, name_at, size_at in ((b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)):
        at = data.find(signature)
        while data[at + name_at:at + name_at + 9] != b"files/pad":
            at = data.find(signature, at + 4)
        data[at + size_at:at + size_at + 4] = struct.pack("<I", 10)
    return bytes(data)


def tar_with_symlink() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        info = tarfile.TarInfo("policy.json")
        info.size = len(MANIFEST[1])
        archive.addfile(info, io.BytesIO(MANIFEST[1]))
        link = tarfile.TarInfo("files/passwd")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    return out.getvalue()


def nested(depth: int = 100_000) -> bytes:
    return b"[" * depth + b"]" * depth


def padded_bundle(size: int, seed: int) -> bytes:
    """A valid bundle of about `size` bytes that does not compress (distinct per seed)."""
    import random

    return zip_of(MANIFEST, ("files/pad", random.Random(seed).randbytes(size)), level=0)


# Policy names are global: each user's own are named after it.


def fill_versions(ctx: Ctx) -> None:
    for _ in range(3):
        status, text = ctx.upload(f"{ctx.user}-full", builtin_bundle())
        assert status == 201, text


def fill_bytes(ctx: Ctx) -> None:
    for seed in (1, 2):
        status, text = ctx.upload(f"{ctx.user}-heavy", padded_bundle(800_000, seed=seed))
        assert status == 201, text


def one_version(ctx: Ctx) -> None:
    status, text = ctx.upload(f"{ctx.user}-mine", builtin_bundle())
    assert status == 201, text


def someone_elses(ctx: Ctx) -> None:
    other = new_user(ctx.url, ctx.tmp)
    status, text = other.upload(f"{ctx.user}-theirs", builtin_bundle())
    assert status == 201, text


# ---------------------------------------------------------------------------------------------
# the server rows


@dataclass(frozen=True)
class ServerCase:
    name: str
    request: Callable[[Ctx], tuple[int, str]]
    status: int
    fragment: str
    setup: Callable[[Ctx], None] | None = None


SERVER_CASES = [
    # names, ids and versions: matched in full
    ServerCase("user name with a trailing newline", lambda c: c.json("POST", "/api/users", {"name": "alice\n"}),
               400, "bad user name"),
    ServerCase("policy name with a trailing newline", lambda c: c.upload("pol\n", builtin_bundle()), 400,
               "bad policy name"),
    ServerCase("version with a trailing newline", lambda c: c.json("POST", f"/api/seasons/{SEASON}/submissions",
                                                                   {"policy": f"{c.user}-mine", "version": "1\n"}),
               400, "bad version", one_version),
    ServerCase("version in superscript digits", lambda c: c.call("GET", f"/api/policies/{c.user}-mine/versions/%C2%B2/bundle"),
               400, "bad version", one_version),
    ServerCase("submission id in superscript digits", lambda c: c.call("DELETE", "/api/submissions/%C2%B2"), 400,
               "bad submission id"),
    ServerCase("match limit in superscript digits",
               lambda c: c.call("GET", f"/api/seasons/{SEASON}/matches?limit=%C2%B2"), 400, "bad limit"),
    # quotas
    ServerCase("one version past the count quota", lambda c: c.upload(f"{c.user}-full", builtin_bundle()), 403, "quota:",
               fill_versions),
    ServerCase("one bundle past the byte quota", lambda c: c.upload(f"{c.user}-heavy", padded_bundle(800_000, seed=3)), 413,
               "quota:", fill_bytes),
    ServerCase("bundle past --max-upload-mb", lambda c: c.upload("big", padded_bundle(1_500_000, seed=4)), 413,
               "larger than this server's limit of 1 MiB"),
    # archives
    ServerCase("zip bomb (200 KB to 200 MB)", lambda c: c.upload("bomb", zip_bomb()), 413, "unpacks to more than"),
    ServerCase("more entries than --max-bundle-files",
               lambda c: c.upload("many", builtin_bundle(*[(f"files/{i}", b"") for i in range(250)])), 413,
               "more than 200 entries"),
    ServerCase("headers that lie about a size", lambda c: c.upload("liar", lying_zip()), 400, "cannot read files/pad"),
    ServerCase("policy.json nested 100,000 deep",
               lambda c: c.upload("deep", zip_of(("policy.json", nested()))), 400, "nested too deeply"),
    ServerCase("zip symlink entry", lambda c: c.upload("link", builtin_bundle((symlink_entry(), b"/etc/passwd"))),
               400, "is a symbolic link"),
    ServerCase("tar.gz symlink entry", lambda c: c.upload("link", tar_with_symlink(), "b.tar.gz"), 400,
               "is a link or device"),
    ServerCase("a file and a directory of one name",
               lambda c: c.upload("clash", builtin_bundle(("files/x", b"1"), ("files/x/y", b"2"))), 400,
               "files/x is both a file and a directory"),
    ServerCase("the same entry twice",
               lambda c: c.upload("twice", builtin_bundle(("files/x", b"1"), ("files/x", b"2"))), 400,
               "files/x appears twice"),
    ServerCase("a .. entry", lambda c: c.upload("up", builtin_bundle(("files/../../evil", b"1"))), 400,
               "unsafe member name"),
    ServerCase("an absolute entry", lambda c: c.upload("abs", builtin_bundle(("/etc/cron.d/evil", b"1"))), 400,
               "unsafe member name"),
    ServerCase("a client file name with a path",
               lambda c: c.upload("junk", b"not an archive", filename="/home/me/evil.zip"), 400,
               "evil.zip: not a .zip or .tar.gz archive"),
    ServerCase("a client file name with a newline",
               lambda c: c.upload("junk", b"not an archive", filename="evil\nname.zip"), 400,
               "malformed request"),
    # tokens and bodies
    ServerCase("unknown token", lambda c: c.call("GET", "/api/whoami", auth="Bearer mtt_nope"), 401, "invalid token"),
    ServerCase("malformed Authorization header", lambda c: c.call("GET", "/api/whoami", auth="Basic abc"), 401,
               "malformed Authorization header"),
    ServerCase("a body that is not JSON", lambda c: c.call("POST", f"/api/seasons/{SEASON}/submissions", b"{oops",
                                                          {"Content-Type": "application/json"}),
               400, "must be a JSON object"),
    ServerCase("a JSON body nested 100,000 deep",
               lambda c: c.call("POST", f"/api/seasons/{SEASON}/submissions", nested(),
                                {"Content-Type": "application/json"}), 400, "nested too deeply"),
    ServerCase("a JSON body over 1 MiB", lambda c: c.json("POST", "/api/users", {"name": "x" * (2 << 20)}), 413,
               "larger than 1024 KiB"),
    ServerCase("a description over 4000 bytes",
               lambda c: c.upload("described", builtin_bundle(), fields=(("description", b"d" * 10_000),)), 413,
               "the description is longer than 4000 bytes"),
    ServerCase("an upload that is not multipart",
               lambda c: c.call("POST", "/api/policies/plain/versions", builtin_bundle(),
                                {"Content-Type": "application/zip"}), 400, "multipart/form-data"),
    # paths
    ServerCase("a policy name that climbs out", lambda c: c.call("GET", "/api/policies/..%2F..%2Fetc%2Fpasswd"), 404,
               "no policy named"),
    ServerCase("another user's bundle", lambda c: c.call("GET", f"/api/policies/{c.user}-theirs/versions/1/bundle"),
               403, "only they can download it", someone_elses),
]


@pytest.fixture(scope="module")
def table_server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("table"), *TABLE_FLAGS)
    yield server
    server.stop()


def new_user(url: str, tmp: Path) -> Ctx:
    name = f"u{next(_users)}-{time.monotonic_ns() % 100000}"
    ctx = Ctx(url, "", name, tmp)
    status, text = ctx.json("POST", "/api/users", {"name": name})
    assert status == 201, text
    ctx.token = json.loads(text)["token"]
    return ctx


def assert_one_safe_line(message: str, fragment: str, server: Server) -> None:
    assert "\n" not in message and message.strip(), repr(message)
    assert fragment in message, f"{fragment!r} not in {message!r}"
    for secret in (str(server.storage), str(server.storage.parent), str(Path(__file__).resolve().parents[2])):
        assert secret not in message, f"server path {secret!r} shown: {message}"
    assert "Traceback" not in message


@pytest.mark.filterwarnings("ignore:Duplicate name")  # zipfile warns while writing the duplicate row
@pytest.mark.parametrize("case", SERVER_CASES, ids=[c.name for c in SERVER_CASES])
def test_the_server_refuses_bad_input_in_one_line(case: ServerCase, table_server, tmp_path):
    ctx = new_user(table_server.url, tmp_path)
    if case.setup is not None:
        case.setup(ctx)
    before = snapshot(table_server.storage)
    status, message = case.request(ctx)
    assert status == case.status, f"{status}: {message}"
    assert_one_safe_line(message, case.fragment, table_server)
    assert snapshot(table_server.storage) == before  # nothing kept, nothing left in incoming/
    assert ctx.call("GET", "/api/health", auth=None)[0] == 200  # still serving
    assert ctx.call("GET", "/api/whoami")[0] == 200


def test_rate_limits_answer_429_and_recover(tmp_path):
    # Slow refills, so that a loaded machine (slow requests) cannot refill a bucket mid-test.
    server = Server(tmp_path, "--match-workers", "0", "--rate-per-user", "0.2", "--burst-per-user", "5",
                    "--rate-per-address", "1", "--burst-per-address", "40")
    try:
        alice, bob = new_user(server.url, tmp_path), new_user(server.url, tmp_path)
        statuses = [alice.call("GET", "/api/whoami")[0] for _ in range(8)]
        assert statuses[:5] == [200] * 5 and 429 in statuses[5:], statuses
        status, message = alice.call("GET", "/api/whoami")
        assert status == 429
        assert_one_safe_line(message, f"too many requests from {alice.user}", server)
        assert bob.call("GET", "/api/whoami")[0] == 200  # one user's bucket is not another's
        time.sleep(5.5)  # one token back
        assert alice.call("GET", "/api/whoami")[0] == 200

        # The address's bucket: everyone on 127.0.0.1 together, signed in or not.
        request = urllib.request.Request(server.url + "/api/health")
        refused = None
        for _ in range(100):
            try:
                urllib.request.urlopen(request, timeout=10).close()
            except urllib.error.HTTPError as error:
                refused = error
                break
        assert refused is not None, "100 requests from one address were all served"
        assert refused.code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "too many requests from 127.0.0.1" in json.loads(refused.read())["error"]
        time.sleep(1.5)  # a token back
        assert bob.call("GET", "/api/health", auth=None)[0] == 200
    finally:
        server.stop()


def test_a_failed_match_shows_no_server_path(tmp_path):
    """The runner's error names a file in the storage directory: users see `<storage>/...`, the
    server's log has the full path."""
    server = Server(tmp_path, "--match-runner", "tests.hardening.failing_runner:run_match", "--match-poll-s", "0.2",
                    "--season-settings", json.dumps({"env": "mettagrid/arena/basic", "target_matches": 1}))
    try:
        ctx = new_user(server.url, tmp_path)
        for name in ("a", "b"):
            assert ctx.upload(name, builtin_bundle())[0] == 201
            assert ctx.json("POST", f"/api/seasons/{SEASON}/submissions", {"policy": name})[0] == 201
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            season = json.loads(ctx.call("GET", f"/api/seasons/{SEASON}")[1])
            if season["matches_failed"]:
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"no failed match: {server.log.read_text()}")
        shown = season["last_error"]
        assert "<storage>/unpacked/" in shown, shown
        assert_one_safe_line(shown, "FileNotFoundError", server)
        board = ctx.call("GET", f"/api/seasons/{SEASON}/leaderboard")[1]
        assert str(server.storage) not in board
    finally:
        server.stop()
    assert f"{server.storage}/unpacked/" in server.log.read_text()  # the full detail stays in the log


def test_an_internal_error_shows_no_server_path(tmp_path):
    """A 500 (here: the storage's incoming/ directory replaced by a file) says what failed
    without the server's paths; the log has the traceback with them."""
    server = Server(tmp_path, "--match-workers", "0")
    try:
        ctx = new_user(server.url, tmp_path)
        incoming = server.storage / "incoming"
        incoming.rmdir()
        incoming.write_text("not a directory")
        status, message = ctx.upload(f"{ctx.user}-p", builtin_bundle())
        assert status == 500
        assert_one_safe_line(message, "internal error (NotADirectoryError", server)
        assert "<storage>/incoming/" in message and "the server's log has the details" in message
        incoming.unlink()
        incoming.mkdir()
        assert ctx.upload(f"{ctx.user}-p", builtin_bundle())[0] == 201  # still serving
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Traceback" in log and f"{server.storage}/incoming/" in log


# ---------------------------------------------------------------------------------------------
# cogames rows: the command line shows the server's refusal in one line


@pytest.fixture(scope="module")
def cli_login(table_server, tmp_path_factory):
    home = tmp_path_factory.mktemp("cli")
    ctx = new_user(table_server.url, home)
    fill_versions(ctx)  # this user's count quota is full
    login = home / "login.json"
    save_login(table_server.url, ctx.user, ctx.token, login)
    return {"COGAMES_TOKEN_FILE": str(login)}, f"{ctx.user}-full"


# `{full}` is the user's own policy, whose count quota is full.
CLI_CASES = [
    ("upload under a name with a newline", ("upload", "-p", "random", "-n", "bad\nname", "-m", "mettagrid/arena/basic"),
     "HTTP 400: bad policy name 'bad\\nname'"),
    ("upload past the count quota", ("upload", "-p", "random", "-n", "{full}", "-m", "mettagrid/arena/basic"),
     "HTTP 403: quota:"),
    ("submit a version that does not exist", ("submit", "{full}:v99", "--season", SEASON), "has no version v99"),
    ("submit a reference with a newline inside", ("submit", "{full}\n:v1", "--season", SEASON),
     "bad policy reference"),
]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cogames_shows_the_refusal_in_one_line(case, cli_login, table_server):
    _, argv, fragment = case
    env, full = cli_login
    before = snapshot(table_server.storage)
    result = run_command(("cogames", *(arg.replace("{full}", full) for arg in argv)), env=env, timeout=120)
    assert_refused(result, fragment, forbidden=(str(table_server.storage),))
    assert snapshot(table_server.storage) == before


# ---------------------------------------------------------------------------------------------
# play.py's WebSocket


@pytest.fixture(scope="module")
def live_server():
    from metta.agent.policy_uri import builtin_spec
    from metta.viewer.live import PlaySession
    from metta.viewer.server import ViewerServer
    from mettagrid.env_configs import compose_env_config

    spec = builtin_spec("random")
    session = PlaySession(compose_env_config("mettagrid/navigation"), lambda env: spec.make_actor(env, "cpu", 0))
    server = ViewerServer(port=0, session=session)
    base = server.start()
    yield server, base
    server.stop()
    session.close()


def ws_url(base: str, token: str | None) -> str:
    return base.replace("http://", "ws://") + "/ws" + (f"?token={token}" if token is not None else "")


async def _handshake(url: str, headers: dict[str, str]) -> int:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(url, headers=headers) as socket:
                first = await socket.receive_json(timeout=10)
                assert first["type"] == "replay"
                return 101
        except aiohttp.WSServerHandshakeError as error:
            return error.status


HANDSHAKE_CASES = [
    ("foreign Origin with the token", "token", {"Origin": "http://evil.example"}, 403),
    ("null Origin with the token", "token", {"Origin": "null"}, 403),
    ("same-looking Origin on another port", "token", {"Origin": "http://127.0.0.1:1"}, 403),
    ("no token", None, {}, 403),
    ("a wrong token", "wrong", {}, 403),
    ("a rebound DNS name as Host", "token", {"Host": "evil.example"}, 403),
    ("the page's own Origin and token", "token", {"Origin": "same"}, 101),
    ("a script: no Origin, the token", "token", {}, 101),
]


@pytest.mark.parametrize("case", HANDSHAKE_CASES, ids=[c[0] for c in HANDSHAKE_CASES])
def test_the_live_socket_needs_the_token_and_the_same_origin(case, live_server):
    _, token, headers, expected = case
    server, base = live_server
    headers = {k: (base if v == "same" else v) for k, v in headers.items()}
    url = ws_url(base, server.token if token == "token" else token)
    assert asyncio.run(_handshake(url, headers)) == expected


def test_the_served_page_carries_the_token(live_server):
    server, base = live_server
    with urllib.request.urlopen(base + "/", timeout=10) as response:
        page = response.read().decode()
    assert f'<meta name="metta-live-token" content="{server.token}">' in page
    request = urllib.request.Request(base + "/", headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 403


MESSAGE_CASES = [
    ("not JSON", "text", "{oops", "messages must be JSON"),
    ("a JSON list", "text", "[1, 2]", "must be JSON objects, not list"),
    ("a binary frame", "bytes", b"\x00\x01", "not binary frames"),
    ("100 KB of text", "text", json.dumps({"type": "action", "action": "x" * 100_000}), "message too long"),
    ("nested 2,000 deep", "text", "[" * 2000 + "]" * 2000, "nested too deeply"),
    ("an unknown type", "text", json.dumps({"type": "hack"}), "unknown message type 'hack'"),
    ("an unknown action", "text", json.dumps({"type": "action", "action": "fly"}), "unknown action 'fly'"),
    ("an action that is a list", "text", json.dumps({"type": "action", "action": ["move"]}), "unknown action ['move']"),
    ("an arg that is a string", "text", json.dumps({"type": "action", "action": "move", "arg": "0"}),
     "arg '0' is not a whole number"),
    ("an arg that is true", "text", json.dumps({"type": "action", "action": "move", "arg": True}),
     "arg True is not a whole number"),
    ("an arg out of range", "text", json.dumps({"type": "action", "action": "move", "arg": 10**30}),
     "is not a whole number in 0.."),
]


async def _abuse(url: str, kind: str, payload, wanted: str) -> tuple[dict, dict]:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.ws_connect(url) as socket:
        assert (await socket.receive_json(timeout=10))["type"] == "replay"
        await (socket.send_str(payload) if kind == "text" else socket.send_bytes(payload))
        error = await socket.receive_json(timeout=10)
        await socket.send_json({"type": "action", "action": "noop", "arg": 0})  # the session goes on
        step = await socket.receive_json(timeout=10)
        return error, step


@pytest.mark.parametrize("case", MESSAGE_CASES, ids=[c[0] for c in MESSAGE_CASES])
def test_a_malformed_message_gets_an_error_and_the_session_goes_on(case, live_server):
    _, kind, payload, wanted = case
    server, base = live_server
    error, step = asyncio.run(_abuse(ws_url(base, server.token), kind, payload, wanted))
    assert error["type"] == "error" and wanted in error["message"], error
    assert "\n" not in error["message"] and len(error["message"]) < 400
    assert step["type"] == "step", step
