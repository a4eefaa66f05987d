"""One-line configuration errors.

A researcher who mistypes a key should see the dotted key, the bad value and why,
on one line, not a pydantic dump of twenty lines.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError


class ConfigError(ValueError):
    """A configuration problem, already phrased as one line for the user."""


def _dotted(prefix: str, loc: Iterable[object], data: object = None) -> str:
    """The dotted key of an error location, without the union tags pydantic adds to `loc`.

    For a discriminated union pydantic inserts the tag (`random`, `instances`) or the member's
    class name into `loc`; walking the input data alongside tells those apart from real keys.
    """
    parts = [prefix] if prefix else []
    node = data
    for piece in loc:
        if isinstance(node, dict):
            if piece in node:
                parts.append(str(piece))
                node = node[piece]
                continue
            # A tag is the value of the union's discriminator field (`type: random`, `name: fast`).
            if piece in (node.get("type"), node.get("name")) or (isinstance(piece, str) and piece[:1].isupper()):
                continue  # a union tag, not a key
            parts.append(str(piece))
            node = None
            continue
        if isinstance(node, list) and isinstance(piece, int) and piece < len(node):
            parts.append(str(piece))
            node = node[piece]
            continue
        if isinstance(piece, str) and (piece.endswith("Config") or piece.startswith("function-")):
            continue
        parts.append(str(piece))
        node = None
    return ".".join(parts) if parts else "<root>"


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_validation_error(
    error: ValidationError, prefix: str = "", source: str | None = None, data: object = None
) -> str:
    """Turn a pydantic ValidationError into one line: `source: key: why (got value)`."""
    messages = []
    for item in error.errors():
        key = _dotted(prefix, item["loc"], data)
        kind = item["type"]
        if kind == "extra_forbidden":
            why = "unknown key"
        elif kind == "missing":
            why = "required key is missing"
        else:
            why = item["msg"]
            why = why.removeprefix("Value error, ")
        if kind != "missing" and "input" in item and not isinstance(item["input"], (dict, list)):
            why = f"{why} (got {_short(item['input'])})"
        messages.append(f"{key}: {why}")
    head = f"{source}: " if source else ""
    return head + "; ".join(messages)
