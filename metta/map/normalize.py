"""Canonical map characters for ASCII maps and for the example patterns of WFC/ConvChain scenes.

Every map character has one canonical spelling (`CELL_TO_CHAR`): a space becomes `.`, `A`
becomes `@`. Characters from elsewhere are translated too: letters of older maps (`W` wall,
`a` altar), the terminal renderer's output (agent arrows `^v<>`, miniscope's Unicode symbols,
ANSI colour codes), so a map copied from a terminal becomes a valid map.
"""

from __future__ import annotations

import re

from mettagrid.map_builder.ascii import CELL_TO_CHAR, CHAR_TO_CELL, STORED_MAP_SEPARATOR

# Characters that are not map characters today but mean one unambiguously.
FOREIGN_CHARS: dict[str, str] = {
    # older maps
    "W": "#", "a": "_", "E": ".",
    # the nethack-style renderer draws agents as orientation arrows, frozen ones as '*'
    "^": "@", "v": "@", "<": "@", ">": "@", "*": "@",
    # the miniscope renderer
    "█": "#", "▒": "s", "♥": "_", "⛏": "m", "↯": "n", "⚡": "n", "⛨": "o", "⌁": "S", "⚗": "L",
    "⚙": "F", "⛩": "T", "▲": "@", "▼": "@", "◀": "@", "▶": "@", "❄": "@",
    # look-alikes from word processors
    "·": ".", "\u00a0": ".", "＃": "#",
}
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def canonical_char(char: str) -> str | None:
    if char in CHAR_TO_CELL:
        return CELL_TO_CHAR[CHAR_TO_CELL[char]]
    return FOREIGN_CHARS.get(char)


def normalize_rows(rows: list[str], source: str, first_line: int = 1) -> tuple[list[str], list[str]]:
    """Canonical rows plus notes on what changed. Short rows (trailing spaces an editor
    removed) are padded with `.`; an unknown character is a ValueError naming file:line:col."""
    rows = [ANSI_ESCAPE.sub("", row.rstrip("\r")) for row in rows]
    while rows and not rows[-1].strip():
        rows.pop()
    while rows and not rows[0].strip():
        rows.pop(0)
        first_line += 1
    if not rows:
        raise ValueError(f"{source}:{first_line}: no map rows")
    notes: list[str] = []
    width = max(len(row) for row in rows)
    out = []
    for index, row in enumerate(rows):
        chars = []
        for column, char in enumerate(row, start=1):
            canonical = canonical_char(char)
            if canonical is None:
                raise ValueError(f"{source}:{first_line + index}:{column}: unknown map character {char!r}")
            chars.append(canonical)
        if len(row) < width:
            notes.append(f"line {first_line + index}: padded with {width - len(row)} '.'")
            chars.extend("." * (width - len(row)))
        out.append("".join(chars))
    changed = sum(a != b for a, b in zip(out, rows))
    if changed:
        notes.insert(0, f"{changed} row(s) rewritten with canonical characters")
    return out, notes


def normalize_map_text(text: str, source: str) -> tuple[str, list[str]]:
    """A stored map (front matter kept verbatim) or plain ASCII map with canonical rows."""
    from mettagrid.errors import parse_yaml

    lines = text.split("\n")
    separators = [i for i, line in enumerate(lines) if line.rstrip("\r") == STORED_MAP_SEPARATOR]
    head: list[str] = []
    if separators:
        start = 1 if separators[0] == 0 and len(separators) > 1 else 0
        end = separators[start]
        head, lines = lines[: end + 1], lines[end + 1 :]
        parse_yaml("\n".join(head[:-1]), source)  # front matter that is not YAML is refused, not copied
    rows, notes = normalize_rows(lines, source, first_line=len(head) + 1)
    return "\n".join(head + rows) + "\n", notes


# A block scalar `pattern: |` and its indented lines (YAML comments elsewhere are kept).
_PATTERN_KEY = re.compile(r"^(\s*)(?:-\s+)?pattern:\s*\|[-+]?\s*(#.*)?$")


def normalize_scene_text(text: str, source: str) -> tuple[str, list[str]]:
    """Every `pattern: |` block of a scene YAML with canonical rows; everything else as is.
    Patterns written as quoted strings are refused (they cannot be rewritten in place)."""
    import yaml

    from mettagrid.errors import parse_yaml

    parse_yaml(text, source)  # a file that is not YAML is refused before it is rewritten
    lines = text.split("\n")
    out: list[str] = []
    notes: list[str] = []
    found = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        match = _PATTERN_KEY.match(line)
        i += 1
        if not match:
            if re.match(r"^\s*(?:-\s+)?pattern:\s*\S", line) and "|" not in line.split("pattern:", 1)[1][:2]:
                raise ValueError(f"{source}:{i}: pattern is not a '|' block; write it as `pattern: |` "
                                 f"followed by indented rows")
            continue
        found += 1
        key_indent = len(match.group(1))
        block: list[str] = []
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip(" ")) > key_indent):
            block.append(lines[i])
            i += 1
        trailing_blank = 0
        while block and not block[-1].strip():
            block.pop()
            trailing_blank += 1
        if not block:
            raise ValueError(f"{source}:{i}: empty pattern")
        indent = min(len(row) - len(row.lstrip(" ")) for row in block if row.strip())
        rows, row_notes = normalize_rows([row[indent:] for row in block], source, first_line=i - len(block)
                                         - trailing_blank + 1)
        notes += [f"pattern {found}: {note}" for note in row_notes]
        out.extend(" " * indent + row for row in rows)
        out.extend([""] * trailing_blank)
    if not found:
        raise ValueError(f"{source}: no `pattern: |` blocks (not a WFC/ConvChain scene?)")
    result = "\n".join(out)
    yaml.safe_load(result)  # still valid YAML
    return result, notes
