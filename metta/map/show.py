"""Showing a map: ASCII on stdout, a PNG (opened on a desktop), or the browser viewer."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Literal

import numpy as np

from mettagrid.map_builder.ascii import grid_to_ascii

ShowMode = Literal["ascii", "PIL", "mettascope", "none"]
SHOW_MODES = ("ascii", "PIL", "mettascope", "none")


def show_map(grid: np.ndarray, mode: str, *, title: str = "map", image_path: str | None = None,
             port: int = 0, open_browser: bool = True, wait=None, log=sys.stderr) -> str | None:
    """Show `grid`; returns the PNG path (PIL) or the viewer URL (mettascope)."""
    if mode == "none":
        return None
    if mode == "ascii":
        print(grid_to_ascii(grid), flush=True)
        return None
    if mode == "PIL":
        return _show_image(grid, title, image_path, log)
    if mode == "mettascope":
        return _show_in_viewer(grid, title, port, open_browser, wait, log)
    raise ValueError(f"--show-mode: unknown mode {mode!r} (use one of {', '.join(SHOW_MODES)})")


def _show_image(grid: np.ndarray, title: str, image_path: str | None, log) -> str:
    from mettagrid.renderer.image import render_map_image

    image = render_map_image(grid, cell_size=_cell_size(grid))
    path = Path(image_path) if image_path else Path(tempfile.mkdtemp(prefix="metta-map-")) / f"{_safe(title)}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    if _has_display():
        print(f"map image: {path}", file=log)
        image.show(title=title)
    else:
        print(f"map image: {path} (no display to open it on; saved only)", file=log)
    return str(path)


def _show_in_viewer(grid: np.ndarray, title: str, port: int, open_browser: bool, wait, log) -> str:
    from metta.sim.replay import write_replay
    from metta.viewer.server import ViewerServer, open_in_browser
    from mettagrid.renderer.image import grid_to_replay

    path = Path(tempfile.mkdtemp(prefix="metta-map-")) / f"{_safe(title)}.json.z"
    write_replay({**grid_to_replay(grid), "metadata": {"map": title}}, path)
    server = ViewerServer(port=port)
    server.start()
    try:
        url = server.publish(path)
        print(f"map viewer: open {url} (Ctrl-C to stop)", file=log)
        print(url, flush=True)
        if open_browser:
            open_in_browser(url)
        if wait is not None:
            wait()
        else:
            import threading

            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
        return url
    finally:
        server.stop()


def _cell_size(grid: np.ndarray) -> int:
    """Big enough to see, small enough that a 200x200 map stays a sensible image."""
    return max(4, min(24, 1600 // max(grid.shape)))


def _has_display() -> bool:
    import os

    return sys.platform == "darwin" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)[:80] or "map"
