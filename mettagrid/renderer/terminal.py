"""Draw one env of a MettaGridVecEnv as text, from the core's `grid_objects` view.

Two styles: `nethack` (plain ASCII, the map characters of `mettagrid.map_builder.ascii`, agents
as orientation arrows) and `miniscope` (Unicode symbols with ANSI colours). Both are pure
functions of the objects list, so they are easy to test and cheap enough for ~30 frames/s.
"""

from __future__ import annotations

from typing import Any

from mettagrid.map_builder.ascii import CELL_TO_CHAR
from mettagrid.renderer.glyphs import ansi_color, glyph_table, team_colors

ORIENTATION_ARROWS = "^v<>"  # up, down, left, right (orientation ids 0..3)
MINISCOPE_ARROWS = "▲▼◀▶"

UNKNOWN = "?"
FROZEN_COLOUR = "#a5e4ff"  # sprites.json colors.frozen


def _coloured(text: str, hex_color: str) -> str:
    return f"{ansi_color(hex_color)}{text}\x1b[0m"


def _cell_char(obj: dict[str, Any], style: str) -> str:
    """Characters and colours come from the shared glyph table (mettagrid/renderer/glyphs.py),
    so a CogsGuard hub is `H` here and in the viewer; a type missing from it falls back to its
    map character, then to `?`."""
    name = obj["type_name"]
    if name == "agent":
        if obj.get("frozen", 0):
            return _coloured("❄", FROZEN_COLOUR) if style == "miniscope" else "*"
        arrow = (MINISCOPE_ARROWS if style == "miniscope" else ORIENTATION_ARROWS)[obj["orientation"]]
        if style == "miniscope":
            colors = team_colors()
            return _coloured(arrow, colors[obj["group"] % len(colors)])
        return arrow
    glyph = glyph_table().get(name)
    if glyph is None:
        return CELL_TO_CHAR.get(name, UNKNOWN)
    if style == "miniscope":
        return _coloured(glyph["symbol"], glyph["color"])
    return glyph["char"]


def render_grid(objects: list[dict[str, Any]], height: int, width: int, style: str = "nethack") -> str:
    """The map as lines of text; empty cells are `.` (nethack) or a blank (miniscope)."""
    blank = " " if style == "miniscope" else "."
    rows = [[blank] * width for _ in range(height)]
    # Objects first, then agents on top (an agent never shares a cell with an object, but
    # drawing order keeps the agent visible if a future rule allows it).
    for obj in sorted(objects, key=lambda o: o["type_name"] == "agent"):
        rows[obj["row"]][obj["col"]] = _cell_char(obj, style)
    return "\n".join("".join(row) for row in rows)
