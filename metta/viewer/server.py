"""The viewer's local web server (aiohttp, in a background thread).

It serves the static page (`metta/viewer/static/`) at `/`, replay files published with
`publish()` at `/replays/<name>`, and, when given a live session (play.py), a WebSocket at
`/ws` plus a JSON snapshot at `/api/state`. No Node toolchain: the page is plain files.

A live session drives an env from whoever holds the socket, so the socket is guarded:

- a per-session token, embedded in the page this server serves (`<meta name="metta-live-token">`),
  must come as `/ws?token=...`; other sites cannot read the page, so they cannot learn it;
- a browser's `Origin` must be this server's own (scheme, host, port); clients that send no
  `Origin` (scripts) still need the token;
- the `Host` must be an IP address, `localhost` or this machine's name, so a DNS name rebound
  to 127.0.0.1 cannot make another site same-origin and read the token;
- a malformed message (not JSON, not an object, wrong types, unknown action, larger than
  `MAX_MESSAGE_BYTES`) is answered with `{"type": "error", "message": ...}` and the session
  goes on; only a frame past `MAX_FRAME_BYTES` closes the socket (aiohttp's own limit).

    server = ViewerServer()
    base = server.start()                  # http://127.0.0.1:<port>
    url = server.publish("ep.json.z")     # http://127.0.0.1:<port>/?replay=/replays/ep.json.z
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import secrets
import sys
import threading
import traceback
import urllib.parse
from pathlib import Path
from socket import getfqdn, gethostname
from typing import Any, Protocol

STATIC_DIR = Path(__file__).resolve().parent / "static"
TOKEN_META = "metta-live-token"
MAX_MESSAGE_BYTES = 4096  # an action is ~50 bytes; anything longer is answered with an error
MAX_FRAME_BYTES = 1 << 20  # past this aiohttp closes the socket (1009) without reading the frame


class LiveSession(Protocol):
    """What the server needs from an interactive session (metta/viewer/live.py)."""

    def initial_message(self) -> dict[str, Any]: ...

    def handle(self, message: dict[str, Any]) -> list[dict[str, Any]]: ...

    def state(self) -> dict[str, Any]: ...


class ViewerServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, session: LiveSession | None = None):
        self.host, self.port, self.session = host, port, session
        # Only a live session needs one; made per server, so a page from an earlier run cannot drive this one.
        self.token = secrets.token_urlsafe(24) if session is not None else None
        self._own_names: set[str] | None = None  # the Host names this machine answers to
        self._replays: dict[str, Path] = {}
        self._sockets: set[Any] = set()
        self._session_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: Any = None
        self._thread: threading.Thread | None = None
        self.base_url: str | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> str:
        """Start serving in a daemon thread; returns the base URL. A port in use is an OSError
        naming it."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self._start_site())
            except BaseException as error:  # noqa: BLE001  (handed to the starting thread)
                failure.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="viewer-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            error = failure[0]
            if isinstance(error, OSError):
                raise OSError(error.errno, f"cannot serve on {self.host}:{self.port} ({error.strerror})") from None
            raise error
        return self.base_url

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        async def close_sockets() -> None:
            for socket in list(self._sockets):
                await socket.close()

        asyncio.run_coroutine_threadsafe(close_sockets(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop = self._thread = None

    async def _start_site(self) -> None:
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC_DIR, show_index=False)
        app.router.add_get("/replays/{name}", self._replay)
        if self.session is not None:
            app.router.add_get("/ws", self._websocket)
            app.router.add_get("/api/state", self._state)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.port = port
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        self.base_url = f"http://{shown}:{port}"

    # -- replays --------------------------------------------------------------------------------

    def publish(self, path: str | Path) -> str:
        """Serve a replay file; returns the viewer URL that opens it."""
        path = Path(path).resolve()
        name = path.name
        stem, count = name, 1
        while name in self._replays and self._replays[name] != path:  # same name from two dirs
            count += 1
            name = f"{count}-{stem}"
        self._replays[name] = path
        return self.viewer_url(f"/replays/{urllib.parse.quote(name)}")

    def viewer_url(self, replay: str | None = None, live: bool = False) -> str:
        query = {}
        if replay:
            query["replay"] = replay
        if live:
            query["live"] = "1"
        return f"{self.base_url}/" + (f"?{urllib.parse.urlencode(query, safe='/:')}" if query else "")

    # -- handlers -------------------------------------------------------------------------------

    async def _index(self, request):
        from aiohttp import web

        if self.token is None:
            return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})
        self._check_host(request)
        page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        page = page.replace("<head>", f'<head>\n  <meta name="{TOKEN_META}" content="{self.token}">', 1)
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})

    def _check_host(self, request) -> None:
        """Refuse a Host header naming neither an IP address, localhost nor this machine: a
        rebound DNS name would make another site's page same-origin with this one."""
        from aiohttp import web

        name = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        name = name.strip("[]").lower()
        try:
            ipaddress.ip_address(name)
            return
        except ValueError:
            pass
        if self._own_names is None:  # once: getfqdn may ask DNS
            self._own_names = {"localhost", self.host.lower(), gethostname().lower(), getfqdn().lower()}
        if name not in self._own_names and not name.endswith(".localhost"):
            raise web.HTTPForbidden(text=f"this live viewer answers only to its own address, not {name!r}")

    def _check_socket_request(self, request) -> None:
        """The token, the Origin and the Host of a WebSocket request (see the module's doc)."""
        from aiohttp import web

        self._check_host(request)
        origin = request.headers.get("Origin")
        if origin is not None and origin not in (f"http://{request.host}", f"https://{request.host}"):
            raise web.HTTPForbidden(text=f"origin {origin[:100]!r} may not drive this session (same origin only)")
        token = request.query.get("token", "")
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            raise web.HTTPForbidden(text="missing or wrong session token (open the URL play.py printed)")

    async def _replay(self, request):
        from aiohttp import web

        path = self._replays.get(request.match_info["name"])
        if path is None or not path.is_file():
            raise web.HTTPNotFound(text=f"no replay named {request.match_info['name']!r} here")
        return web.FileResponse(path, headers={"Cache-Control": "no-store",
                                               "Content-Type": "application/octet-stream"})

    async def _state(self, request):
        from aiohttp import web

        self._check_host(request)
        with self._session_lock:
            return web.json_response(self.session.state())

    async def _websocket(self, request):
        from aiohttp import WSMsgType, web

        self._check_socket_request(request)
        socket = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES)
        await socket.prepare(request)
        self._sockets.add(socket)
        try:
            with self._session_lock:
                first = self.session.initial_message()
            await socket.send_str(json.dumps(first, separators=(",", ":")))
            async for message in socket:
                if message.type in (WSMsgType.ERROR, WSMsgType.CLOSE, WSMsgType.CLOSING):
                    break
                payload, problem = _parse(message)
                if problem is None:
                    try:
                        with self._session_lock:
                            replies = self.session.handle(payload)
                    except Exception as error:  # noqa: BLE001  (the sender hears why; the session goes on)
                        traceback.print_exc(file=sys.stderr)
                        problem = f"the message failed ({type(error).__name__}); the session goes on"
                if problem is not None:  # to the sender only
                    await socket.send_str(json.dumps({"type": "error", "message": problem}))
                    continue
                for reply in replies:
                    text = json.dumps(reply, separators=(",", ":"))
                    await asyncio.gather(*(s.send_str(text) for s in list(self._sockets) if not s.closed),
                                         return_exceptions=True)
        finally:
            self._sockets.discard(socket)
        return socket


def _parse(message: Any) -> tuple[dict[str, Any] | None, str | None]:
    """A WebSocket message as a live-protocol object, or None and why it cannot be one."""
    from aiohttp import WSMsgType

    if message.type != WSMsgType.TEXT:
        return None, "messages must be JSON text, not binary frames"
    if len(message.data) > MAX_MESSAGE_BYTES:
        return None, f"message too long ({len(message.data)} characters; at most {MAX_MESSAGE_BYTES})"
    try:
        payload = json.loads(message.data)
    except ValueError:
        return None, "messages must be JSON"
    except RecursionError:
        return None, "message nested too deeply"
    if not isinstance(payload, dict):
        return None, f"messages must be JSON objects, not {type(payload).__name__}"
    return payload, None


def has_display() -> bool:
    """Whether a browser could open here: macOS and Windows always, elsewhere an X or Wayland display."""
    import os
    import sys

    return sys.platform == "darwin" or sys.platform.startswith("win") or \
        bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_in_browser(url: str) -> bool:
    """Open `url` in the desktop's browser when there is a desktop; False when there is none."""
    import webbrowser

    if not has_display():
        return False
    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False
