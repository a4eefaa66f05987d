"""The one table of how each object type looks, for every renderer.

It is the ``glyphs`` entry of ``metta/viewer/static/sprites.json`` (the file MettaScope and the
Pillow map images already read), so the terminal, the images and the browser cannot drift
apart: each row gives an object type's ASCII ``char`` (terminal and map files, and the letter a
building without its own icon shows), its terminal ``symbol`` and its ``color``. Teams take
``group_colors`` everywhere, resources ``item_colors``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

SPRITES_PATH = Path(__file__).resolve().parents[2] / "metta" / "viewer" / "static" / "sprites.json"


@functools.lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    try:
        return json.loads(SPRITES_PATH.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"the shared glyph table is not at {SPRITES_PATH}") from None


def glyph_table() -> dict[str, dict[str, str]]:
    """Object type name -> {"char", "symbol", "color"} (read-only by convention)."""
    return _rules()["glyphs"]


def team_colors() -> list[str]:
    """Agent colour by group id, as "#rrggbb" (group id modulo the list's length)."""
    return _rules()["group_colors"]


def item_colors() -> dict[str, str]:
    return _rules()["item_colors"]


def ansi_color(hex_color: str) -> str:
    """The 24-bit ANSI escape that sets the foreground to ``#rrggbb``: the terminal shows the
    same colour as the viewer rather than the nearest of 16."""
    v = int(hex_color[1:], 16)
    return f"\x1b[38;2;{(v >> 16) & 255};{(v >> 8) & 255};{v & 255}m"
