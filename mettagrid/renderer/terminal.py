"""Draw one env of a MettaGridVecEnv as text, from the core's `grid_objects` view.

Two styles: `nethack` (plain ASCII, the map characters of `mettagrid.map_builder.ascii`, agents
as orientation arrows) and `miniscope` (Unicode symbols with ANSI colours). Both are pure
functions of the objects list, so they are easy to test and cheap enough for ~30 frames/s.
"""

from __future__ import annotations

from typing import Any

from mettagrid.map_builder.ascii import CELL_TO_CHAR

ORIENTATION_ARROWS = "^v<>"  # up, down, left, right (orientation ids 0..3)
MINISCOPE_ARROWS = "▲▼◀▶"

# Symbol and ANSI colour per object name in miniscope style; unknown buildings fall back to
# their ASCII character. Every symbol must be one terminal column wide (no emoji-presentation
# characters such as U+26A1 "high voltage", which terminals draw two columns wide).
MINISCOPE_SYMBOLS: dict[str, tuple[str, str]] = {
    "wall": ("█", "37"),
    "block": ("▒", "33"),
    "mine_red": ("⛏", "31"),
    "mine_blue": ("⛏", "34"),
    "mine_green": ("⛏", "32"),
    "generator_red": ("↯", "31"),
    "generator_blue": ("↯", "34"),
    "generator_green": ("↯", "32"),
    "altar": ("♥", "35"),
    "armory": ("⛨", "36"),
    "lasery": ("⌁", "91"),
    "lab": ("⚗", "96"),
    "factory": ("⚙", "93"),
    "temple": ("⛩", "95"),
}
AGENT_COLOURS = ("92", "94", "93", "95", "96", "91")  # by group


def _cell_char(obj: dict[str, Any], style: str) -> str:
    name = obj["type_name"]
    if name == "agent":
        if obj.get("frozen", 0):
            return "\x1b[97m❄\x1b[0m" if style == "miniscope" else "*"
        arrow = (MINISCOPE_ARROWS if style == "miniscope" else ORIENTATION_ARROWS)[obj["orientation"]]
        if style == "miniscope":
            return f"\x1b[{AGENT_COLOURS[obj['group'] % len(AGENT_COLOURS)]}m{arrow}\x1b[0m"
        return arrow
    if style == "miniscope" and name in MINISCOPE_SYMBOLS:
        symbol, colour = MINISCOPE_SYMBOLS[name]
        return f"\x1b[{colour}m{symbol}\x1b[0m"
    return CELL_TO_CHAR.get(name, "?")


def render_grid(objects: list[dict[str, Any]], height: int, width: int, style: str = "nethack") -> str:
    """The map as lines of text; empty cells are `.` (nethack) or a blank (miniscope)."""
    blank = " " if style == "miniscope" else "."
    rows = [[blank] * width for _ in range(height)]
    # Objects first, then agents on top (an agent never shares a cell with an object, but
    # drawing order keeps the agent visible if a future rule allows it).
    for obj in sorted(objects, key=lambda o: o["type_name"] == "agent"):
        rows[obj["row"]][obj["col"]] = _cell_char(obj, style)
    return "\n".join("".join(row) for row in rows)
