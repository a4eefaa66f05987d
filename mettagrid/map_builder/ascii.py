"""ASCII maps: the character table, parsing and rendering, stored map files, and the builder.

A stored map is YAML front matter (config, seed, labels), a line ``---``, then the rows::

    seed: 7
    labels: [maze]
    ---
    #####
    #@._#
    #####

A plain ASCII file (no ``---`` line) is a stored map with empty metadata.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, model_validator

from mettagrid.atomic_files import atomic_write_bytes
from mettagrid.errors import parse_yaml
from mettagrid.map_builder.base import CELL_DTYPE, add_border

# The one table of map characters. Several characters may name the same cell; the inverse
# below picks the canonical one for rendering.
CHAR_TO_CELL: dict[str, str] = {
    "#": "wall",
    ".": "empty",
    " ": "empty",
    "@": "agent.agent",
    "A": "agent.agent",
    "1": "agent.team_1",
    "2": "agent.team_2",
    "3": "agent.team_3",
    "4": "agent.team_4",
    "p": "agent.prey",
    "P": "agent.predator",
    "s": "block",
    "m": "mine_red",
    "b": "mine_blue",
    "g": "mine_green",
    "n": "generator_red",
    "B": "generator_blue",
    "G": "generator_green",
    "_": "altar",
    "o": "armory",
    "S": "lasery",
    "L": "lab",
    "F": "factory",
    "T": "temple",
}

# Characters that are aliases, so the inverse renders the canonical one instead.
_ALIASES = {" ", "A"}
CELL_TO_CHAR: dict[str, str] = {cell: char for char, cell in CHAR_TO_CELL.items() if char not in _ALIASES}

STORED_MAP_SEPARATOR = "---"

# The directory that holds configs/, and where bare map names are looked up last.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAPS_DIR = PROJECT_ROOT / "configs" / "env" / "mettagrid" / "maps"


def parse_ascii(text: str, source: str = "<inline>", *, first_line: int = 1) -> np.ndarray:
    """Parse map rows into a grid of cell names.

    ``first_line`` is the file line number of the first row, so errors in a stored map point
    at the right line of the file.
    """
    # Blank lines around the rows (common in triple-quoted strings) are not rows.
    body = text.lstrip("\r\n")
    first_line += text[: len(text) - len(body)].count("\n")
    rows = [row.rstrip("\r") for row in body.rstrip("\r\n").split("\n")]
    if rows == [""]:
        raise ValueError(f"{source}:{first_line}: map has no rows")
    width = len(rows[0])
    for index, row in enumerate(rows):
        line = first_line + index
        if len(row) != width:
            raise ValueError(
                f"{source}:{line}:{min(len(row), width) + 1}: row has {len(row)} characters, "
                f"expected {width} like the first row (ragged rows)"
            )
        for column, char in enumerate(row, start=1):
            if char not in CHAR_TO_CELL:
                raise ValueError(f"{source}:{line}:{column}: unknown map character {char!r}")
    return np.array([[CHAR_TO_CELL[char] for char in row] for row in rows], dtype=CELL_DTYPE)


def grid_to_ascii(grid: np.ndarray) -> str:
    """Render a grid of cell names as rows of characters, one line per row (no trailing newline)."""
    unknown = sorted(set(np.unique(grid).tolist()) - CELL_TO_CHAR.keys())
    if unknown:
        raise ValueError(f"cannot render cell names without a map character: {', '.join(unknown)}")
    return "\n".join("".join(CELL_TO_CHAR[cell] for cell in row) for row in grid.tolist())


def parse_stored_map(text: str, source: str = "<inline>") -> tuple[np.ndarray, dict[str, Any]]:
    """Split optional YAML front matter from the rows and parse both."""
    lines = text.split("\n")
    separators = [i for i, line in enumerate(lines) if line.rstrip("\r") == STORED_MAP_SEPARATOR]
    if not separators:
        return parse_ascii(text, source), {}
    # Accept both "meta --- rows" and the Jekyll-style "--- meta --- rows".
    start = 1 if separators[0] == 0 else 0
    if start == 1 and len(separators) < 2:
        raise ValueError(f"{source}:1: front matter opened with '---' is never closed")
    end = separators[start]
    # Parsed with the lines above it (a leading `---` is YAML's own document start), so that an
    # error's line and column are the file's.
    metadata = parse_yaml("\n".join(lines[:end]), source) or {}
    if not isinstance(metadata, dict):
        raise ValueError(f"{source}:{start + 1}: front matter must be a YAML mapping")
    grid = parse_ascii("\n".join(lines[end + 1 :]), source, first_line=end + 2)
    return grid, metadata


def resolve_map_path(uri: str) -> Path:
    """Find a map file: as given, then under the project root, then under the maps directory."""
    path = Path(uri)
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, PROJECT_ROOT / path, MAPS_DIR / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"map file not found: {uri} (looked at {', '.join(str(c) for c in candidates)})"
    )


def load_stored_map(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, Any]]:
    """Read a stored map (or a plain ASCII map) from ``path``, resolved like ``uri``."""
    resolved = resolve_map_path(str(path))
    return parse_stored_map(resolved.read_text(encoding="utf-8"), str(path))


def stored_map_text(grid: np.ndarray, metadata: dict[str, Any]) -> str:
    """A stored map's text: YAML front matter, the separator, the ASCII rows."""
    return f"{yaml.safe_dump(metadata, sort_keys=False)}{STORED_MAP_SEPARATOR}\n{grid_to_ascii(grid)}\n"


def save_stored_map(path: str | os.PathLike, grid: np.ndarray, metadata: dict[str, Any]) -> None:
    """Write front matter and rows atomically: readers see the old file or the new one, never half."""
    atomic_write_bytes(Path(path), stored_map_text(grid, metadata).encode("utf-8"))


class AsciiMapConfig(BaseModel):
    """A map read from ASCII rows, given inline or as a file."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["ascii"] = "ascii"
    uri: str | None = Field(
        default=None,
        description="Map file: absolute, or relative to the cwd, the project root or the maps directory.",
    )
    map_data: str | None = Field(
        default=None, description="The map rows inline (one string, rows separated by newlines)."
    )
    border_width: NonNegativeInt = Field(
        default=0, description="Wall cells added around the map on every side."
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> AsciiMapConfig:
        if (self.uri is None) == (self.map_data is None):
            raise ValueError("ascii map needs exactly one of 'uri' and 'map_data'")
        return self


class AsciiMapBuilder:
    """Ignores the seed: the map is fixed by its text."""

    def __init__(self, config: AsciiMapConfig):
        self.config = config

    def build(self, seed: int) -> np.ndarray:
        if self.config.uri is not None:
            grid, _ = load_stored_map(self.config.uri)
        else:
            grid = parse_ascii(self.config.map_data)
        return add_border(grid, self.config.border_width)
