"""A client of the tournament server (metta/tournament/server.py), for `cogames` and scripts.

    client = TournamentClient("http://127.0.0.1:8765", token)
    bundle = bundle_policy("./train_dir/my_run", extra_files=["notes.md"])
    validate_bundle(bundle)                      # loads it and plays one env step
    client.upload("my-policy", bundle)           # -> {"version": 1, ...}
    client.submit("beta-cogsguard", "my-policy")  # the newest version
    client.leaderboard("beta-cogsguard")

Every failure is a `TournamentError` whose message is one line: the HTTP status and the
server's reason (`HTTP 403: policy 'x' belongs to alice; ...`), or why the server could not
be reached. Only the standard library is used (urllib), so the client adds no dependency.

`cogames login` keeps the server, user and token in a JSON file, `$COGAMES_TOKEN_FILE` or
`~/.metta/cogames_token.json`, written atomically with mode 0600 (`save_login`,
`load_login`, `delete_login`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from metta.common.uri import atomic_write_bytes
from metta.tournament.bundle import BundleError, bundle_policy, validate_bundle

__all__ = [
    "BundleError", "Login", "LoginFileError", "TournamentClient", "TournamentError", "bundle_policy",
    "check_server_url", "delete_login", "load_login", "parse_policy_ref", "save_login", "token_file_path",
    "validate_bundle",
]

TOKEN_FILE_ENV = "COGAMES_TOKEN_FILE"
DEFAULT_TOKEN_FILE = Path("~/.metta/cogames_token.json")
DEFAULT_SERVER = "http://127.0.0.1:8765"
_REF_RE = re.compile(r"(?P<name>[^:\s]+)(?::v?(?P<version>[0-9]{1,9}))?")  # fullmatch: no trailing newline


class TournamentError(RuntimeError):
    """A failed request; `status` is the HTTP status (None when the server was not reached)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def parse_policy_ref(ref: str) -> tuple[str, int | None]:
    """`"my-policy:v3"` -> ("my-policy", 3); `"my-policy"` -> ("my-policy", None) (newest)."""
    match = _REF_RE.fullmatch(ref.strip())
    if not match:
        raise ValueError(f"bad policy reference {ref!r}: expected NAME or NAME:vN (e.g. my-policy or my-policy:v3; "
                         f"`cogames upload` printed the name and version)")
    version = match["version"]
    return match["name"], int(version) if version is not None else None


def check_server_url(url: str) -> str:
    """`url` without its trailing slash; a one-line ValueError when it is not an http(s) URL
    with a host, saying what to type instead (`127.0.0.1:8765` -> `http://127.0.0.1:8765`)."""
    text = url.strip()
    parts = urllib.parse.urlsplit(text)
    if not text:
        raise ValueError(f"is empty: type e.g. {DEFAULT_SERVER}")
    if "://" not in text:
        raise ValueError(f"{url!r} has no scheme: type http://{text}")
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{url!r}: the server speaks http or https, not {parts.scheme!r}: "
                         f"type http://{text.split('://', 1)[1]}")
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host: type e.g. {DEFAULT_SERVER}")
    try:
        parts.port  # noqa: B018 (reading it checks it: a port that is not a number raises)
    except ValueError:
        raise ValueError(f"{url!r}: the port is not a number: type e.g. {DEFAULT_SERVER}") from None
    return text.rstrip("/")


class TournamentClient:
    def __init__(self, base_url: str = DEFAULT_SERVER, token: str | None = None, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_login(cls, path: str | Path | None = None, base_url: str | None = None) -> TournamentClient:
        """A client with the saved login (`cogames login`); `base_url` overrides its server."""
        login = load_login(path)
        if login is None:
            raise TournamentError(f"not logged in ({token_file_path(path)} is missing): run `cogames login`")
        return cls(base_url or login.server, login.token)

    # -- users ----------------------------------------------------------------------------------

    def signup(self, name: str) -> dict[str, Any]:
        """Create a user; the answer holds its token (shown only this once)."""
        return self._request("POST", "/api/users", {"name": name})

    def whoami(self) -> dict[str, Any]:
        return self._request("GET", "/api/whoami")

    def new_token(self) -> str:
        """Another token for the same user (e.g. for a second machine)."""
        return self._request("POST", "/api/tokens")["token"]

    def health(self) -> dict[str, Any]:
        return self._request("GET", "/api/health")

    # -- policies -------------------------------------------------------------------------------

    def upload(self, name: str, bundle: str | Path, description: str = "") -> dict[str, Any]:
        """Upload a bundle (`bundle_policy`) as the next version of `name`."""
        bundle = Path(bundle)
        if not bundle.is_file():
            raise TournamentError(f"{bundle}: no such bundle file")
        return self._request("POST", f"/api/policies/{_quote(name)}/versions",
                             files={"bundle": bundle}, fields={"description": description})

    def policies(self) -> list[dict[str, Any]]:
        """My policies, each with its versions."""
        return self._request("GET", "/api/policies")["policies"]

    def policy(self, name: str) -> dict[str, Any]:
        return self._request("GET", f"/api/policies/{_quote(name)}")

    def delete_version(self, name: str, version: int) -> dict[str, Any]:
        return self._request("DELETE", f"/api/policies/{_quote(name)}/versions/{int(version)}")["deleted"]

    def download(self, name: str, version: int, dest: str | Path) -> Path:
        """Save a version's bundle (my own only) to `dest`."""
        dest = Path(dest)
        with self._open("GET", f"/api/policies/{_quote(name)}/versions/{int(version)}/bundle") as response:
            dest.write_bytes(response.read())
        return dest

    # -- seasons, submissions, leaderboards -----------------------------------------------------

    def seasons(self) -> list[dict[str, Any]]:
        return self._request("GET", "/api/seasons")["seasons"]

    def season(self, name: str) -> dict[str, Any]:
        return self._request("GET", f"/api/seasons/{_quote(name)}")

    def create_season(self, name: str, settings: dict[str, Any] | None = None, status: str = "open") -> dict[str, Any]:
        """Admins only."""
        return self._request("POST", "/api/seasons", {"name": name, "settings": settings or {}, "status": status})

    def update_season(self, name: str, status: str | None = None,
                      settings: dict[str, Any] | None = None) -> dict[str, Any]:
        """Admins only; `settings` are merged over the season's."""
        body: dict[str, Any] = {}
        if status is not None:
            body["status"] = status
        if settings is not None:
            body["settings"] = settings
        return self._request("PATCH", f"/api/seasons/{_quote(name)}", body)

    def submit(self, season: str, policy: str, version: int | None = None) -> dict[str, Any]:
        """Enter my policy (its newest version unless `version`) in a season."""
        return self._request("POST", f"/api/seasons/{_quote(season)}/submissions",
                             {"policy": policy, "version": version})

    def submissions(self, season: str | None = None) -> list[dict[str, Any]]:
        """My submissions, with status, rating, rank and record."""
        query = f"?season={_quote(season)}" if season else ""
        return self._request("GET", f"/api/submissions{query}")["submissions"]

    def withdraw(self, submission_id: int) -> dict[str, Any]:
        return self._request("DELETE", f"/api/submissions/{int(submission_id)}")

    def leaderboard(self, season: str) -> list[dict[str, Any]]:
        return self.standings(season)["entries"]

    def standings(self, season: str) -> dict[str, Any]:
        """The leaderboard with the season's match counts: `{"season", "matches_played",
        "matches_failed", "last_error", "entries"}`."""
        return self._request("GET", f"/api/seasons/{_quote(season)}/leaderboard")

    def matches(self, season: str, limit: int = 50) -> list[dict[str, Any]]:
        return self._request("GET", f"/api/seasons/{_quote(season)}/matches?limit={int(limit)}")["matches"]

    # -- HTTP -----------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None,
                 files: dict[str, Path] | None = None, fields: dict[str, str] | None = None) -> Any:
        with self._open(method, path, body, files, fields) as response:
            data = response.read()
        try:
            return json.loads(data)
        except ValueError:
            raise TournamentError(f"{method} {path}: the server answered with something other than JSON") from None

    @contextlib.contextmanager
    def _open(self, method: str, path: str, body: dict[str, Any] | None = None,
              files: dict[str, Path] | None = None, fields: dict[str, str] | None = None) -> Iterator[Any]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data: Any = None
        if files:
            data, content_type, length = _multipart(files, fields or {})
            headers.update({"Content-Type": content_type, "Content-Length": str(length)})
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            raise TournamentError(f"HTTP {error.code}: {_server_message(error)}", error.code) from None
        except urllib.error.URLError as error:
            raise TournamentError(f"cannot reach {self.base_url}: {error.reason}") from None
        except (TimeoutError, ConnectionError) as error:
            raise TournamentError(f"cannot reach {self.base_url}: {error}") from None
        with response:
            yield response


def _quote(text: str) -> str:
    return urllib.parse.quote(str(text), safe="")


def _server_message(error: urllib.error.HTTPError) -> str:
    try:
        text = error.read().decode("utf-8", "replace")
    except OSError:
        text = ""
    try:
        message = json.loads(text).get("error")
    except (ValueError, AttributeError):
        message = None
    lines = (message or text or error.reason or "").strip().splitlines()
    return lines[0] if lines else str(error.reason)


def _multipart(files: dict[str, Path], fields: dict[str, str]) -> tuple[Any, str, int]:
    """A multipart/form-data body streamed from disk: (iterable of bytes, content type, length)."""
    boundary = f"----metta-{secrets.token_hex(12)}"
    head = b""
    for name, value in fields.items():
        head += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").encode()
    parts = []
    for name, path in files.items():
        preamble = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                    f"filename=\"{path.name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
        parts.append((preamble, path))
    tail = f"--{boundary}--\r\n".encode()
    length = len(head) + sum(len(p) + path.stat().st_size + 2 for p, path in parts) + len(tail)

    def chunks() -> Iterator[bytes]:
        yield head
        for preamble, path in parts:
            yield preamble
            with open(path, "rb") as file:
                while block := file.read(1 << 20):
                    yield block
            yield b"\r\n"
        yield tail

    return chunks(), f"multipart/form-data; boundary={boundary}", length


# ---------------------------------------------------------------------------------------------
# the saved login


@dataclass(frozen=True)
class Login:
    server: str
    user: str
    token: str


def token_file_path(path: str | Path | None = None) -> Path:
    """`path`, else `$COGAMES_TOKEN_FILE`, else `~/.metta/cogames_token.json`."""
    chosen = path or os.environ.get(TOKEN_FILE_ENV) or DEFAULT_TOKEN_FILE
    return Path(chosen).expanduser()


def save_login(server: str, user: str, token: str, path: str | Path | None = None) -> Path:
    """Write the login atomically (temp file, fsync, rename) and readable by its owner only."""
    target = token_file_path(path)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = json.dumps(asdict(Login(server.rstrip("/"), user, token)), indent=2) + "\n"
    atomic_write_bytes(target, text.encode("utf-8"), mode=0o600)  # a token: readable by its owner only
    return target


class LoginFileError(ValueError):
    """The login file exists but cannot be used; the message names the file and what is wrong."""


def load_login(path: str | Path | None = None) -> Login | None:
    """The saved login, or None when there is none; a damaged file is a one-line LoginFileError
    saying what is wrong with it (not JSON, a missing key, a value of the wrong type)."""
    target = token_file_path(path)

    def damaged(what: str) -> LoginFileError:
        return LoginFileError(f"{target}: {what}; run `cogames login --server URL --user NAME` to write it anew")

    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise damaged("not a text file (not UTF-8)") from None
    except OSError as error:  # a directory, no permission
        raise LoginFileError(f"{target}: cannot be read ({error.strerror}); fix or remove it, or point "
                             f"${TOKEN_FILE_ENV} at another file") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise damaged(f"not JSON ({error})") from None
    if not isinstance(data, dict):
        raise damaged(f"expected a JSON object with server, user and token (got {type(data).__name__})")
    missing = [key for key in ("server", "user", "token") if key not in data]
    if missing:
        raise damaged(f"missing {', '.join(missing)}")
    for key in ("server", "user", "token"):
        if not isinstance(data[key], str) or not data[key]:
            raise damaged(f"{key} must be a non-empty string (got {data[key]!r})")
    try:
        server = check_server_url(data["server"])
    except ValueError as error:
        raise damaged(f"server: {error}") from None
    return Login(server, data["user"], data["token"])


def delete_login(path: str | Path | None = None) -> bool:
    """Forget the saved login; False when there was none."""
    target = token_file_path(path)
    existed = target.exists()
    target.unlink(missing_ok=True)
    return existed
