"""One-line configuration errors.

A researcher who mistypes a key should see the dotted key, the bad value and why,
on one line, not a pydantic dump of twenty lines.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError


class ConfigError(ValueError):
    """A configuration problem, already phrased as one line for the user."""


class YamlSyntaxError(ConfigError):
    """A file that is not valid YAML: `file:line:col: what` (`yaml_error_line`)."""


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


def shown_path(path: object) -> str:
    """A path as the user should see it: relative to the working directory when below it."""
    from pathlib import Path

    text = str(path)
    if text.startswith("<"):  # "<unicode string>": YAML parsed from a string
        return text
    try:
        return str(Path(text).resolve().relative_to(Path.cwd()))
    except ValueError:
        return text


def yaml_error_line(error: Exception, path: object = None) -> str:
    """A YAML syntax error as `file:line:col: not valid YAML: what (while ... at line:col)`.

    PyYAML's message is four lines (context, its mark, problem, its mark); the editor-style
    location of the problem is what the user needs to jump to. Lines and columns count from 1.
    """
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    name = shown_path(path if path is not None else getattr(mark, "name", "<yaml>"))
    where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and context_mark is not None and context_mark is not mark:
        problem += f" ({context} at {context_mark.line + 1}:{context_mark.column + 1})"
    elif context:
        problem += f" ({context})"
    return f"{where}: not valid YAML: {problem}"


def read_yaml(path: object, loader: object = None) -> object:
    """The data of a YAML file; a missing, unreadable or malformed file is a one-line
    ConfigError naming it (with line and column for a syntax error)."""
    from pathlib import Path

    file = Path(str(path))
    if not file.is_file():
        raise ConfigError(f"{shown_path(path)}: no such file")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{shown_path(path)}: not a text file (not UTF-8)") from None
    except OSError as error:
        raise ConfigError(f"{shown_path(path)}: cannot be read ({error.strerror})") from None
    return parse_yaml(text, path, loader)


def parse_yaml(text: str, source: object, loader: object = None) -> object:
    """The data of YAML text read from `source`; a YamlSyntaxError (`source:line:col: what`)
    if it does not parse."""
    import yaml

    try:
        return yaml.load(text, Loader=loader or yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise YamlSyntaxError(yaml_error_line(error, source)) from None
