"""The viewer's local web server (aiohttp, in a background thread).

It serves the static page (`metta/viewer/static/`) at `/`, replay files published with
`publish()` at `/replays/<name>`, and, when given a live session (play.py), a WebSocket at
`/ws` plus a JSON snapshot at `/api/state`. No Node toolchain: the page is plain files.

    server = ViewerServer()
    base = server.start()                  # http://127.0.0.1:<port>
    url = server.publish("ep.json.z")     # http://127.0.0.1:<port>/?replay=/replays/ep.json.z
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.parse
from pathlib import Path
from typing import Any, Protocol

STATIC_DIR = Path(__file__).resolve().parent / "static"


class LiveSession(Protocol):
    """What the server needs from an interactive session (metta/viewer/live.py)."""

    def initial_message(self) -> dict[str, Any]: ...

    def handle(self, message: dict[str, Any]) -> list[dict[str, Any]]: ...

    def state(self) -> dict[str, Any]: ...


class ViewerServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, session: LiveSession | None = None):
        self.host, self.port, self.session = host, port, session
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

        return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    async def _replay(self, request):
        from aiohttp import web

        path = self._replays.get(request.match_info["name"])
        if path is None or not path.is_file():
            raise web.HTTPNotFound(text=f"no replay named {request.match_info['name']!r} here")
        return web.FileResponse(path, headers={"Cache-Control": "no-store",
                                               "Content-Type": "application/octet-stream"})

    async def _state(self, request):
        from aiohttp import web

        with self._session_lock:
            return web.json_response(self.session.state())

    async def _websocket(self, request):
        from aiohttp import WSMsgType, web

        socket = web.WebSocketResponse(heartbeat=30)
        await socket.prepare(request)
        self._sockets.add(socket)
        try:
            with self._session_lock:
                first = self.session.initial_message()
            await socket.send_str(json.dumps(first, separators=(",", ":")))
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    payload = json.loads(message.data)
                except ValueError:
                    await socket.send_str(json.dumps({"type": "error", "message": "messages must be JSON"}))
                    continue
                with self._session_lock:
                    replies = self.session.handle(payload)
                for reply in replies:
                    text = json.dumps(reply, separators=(",", ":"))
                    await asyncio.gather(*(s.send_str(text) for s in list(self._sockets) if not s.closed),
                                         return_exceptions=True)
        finally:
            self._sockets.discard(socket)
        return socket


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
