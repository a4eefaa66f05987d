"""Opening replay files in MettaScope from another web app (the Observatory, the sweep
dashboard): one viewer server, started on the first replay asked for, that serves only
files under the directories the app was given."""

from __future__ import annotations

import threading
from pathlib import Path

from mettagrid.errors import ConfigError


class ReplayPublisher:
    def __init__(self, roots: list[Path], what: str = "the train dirs"):
        self.roots = [Path(root).resolve() for root in roots]
        self.what = what  # named in the error for a path outside the roots
        self._viewer = None
        self._lock = threading.Lock()

    def url(self, path: str | Path) -> str:
        """MettaScope's URL opening the replay at `path`; a one-line ConfigError when it is not
        a file under the roots (a page must not be able to serve any file on the machine)."""
        target = Path(path).resolve()
        if not target.is_file() or not any(target.is_relative_to(root) for root in self.roots):
            raise ConfigError(f"replay: {path} is not a replay under {self.what}")
        with self._lock:
            if self._viewer is None:
                from metta.viewer.server import ViewerServer

                viewer = ViewerServer()
                viewer.start()
                self._viewer = viewer
            return self._viewer.publish(target)

    def close(self) -> None:
        with self._lock:
            if self._viewer is not None:
                self._viewer.stop()
                self._viewer = None
