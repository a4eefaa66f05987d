"""Stored maps by URI: save to a file, a directory or an s3:// prefix; load from any of them.

A stored map is YAML front matter (config, seed, labels), `---`, then the ASCII rows
(`mettagrid.map_builder.ascii`). A directory or an s3:// prefix holds many; loading one of
those picks a map at random (seeded when asked).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np

from metta.common.uri import join_destination, make_s3_client, parse_s3_uri, s3_error_message, write_output
from mettagrid.errors import ConfigError, YamlSyntaxError
from mettagrid.map_builder.ascii import parse_stored_map, stored_map_text

MAP_SUFFIXES = (".yaml", ".map", ".txt")


def is_directory_uri(uri: str) -> bool:
    """Trailing slash, an s3:// prefix without a map suffix, or an existing directory."""
    if uri.endswith("/"):
        return True
    if uri.startswith("s3://"):
        return not uri.endswith(MAP_SUFFIXES)
    return Path(uri).is_dir()


def save_map(uri: str, grid: np.ndarray, metadata: dict[str, Any], name: str, key: str = "--output-uri") -> str:
    """Write one map to `uri` (a file) or into it (a directory or s3:// prefix, as `name`).
    Returns where it went. Local writes are atomic."""
    target = join_destination(uri, name) if is_directory_uri(uri) else uri
    return write_output(target, stored_map_text(grid, metadata).encode(), key, "text/yaml")


def load_map(uri: str, seed: int | None = None, key: str = "URI") -> tuple[np.ndarray, dict[str, Any], str]:
    """(grid, metadata, where) for a map file, or a random map of a directory / s3:// prefix."""
    chooser = random.Random(seed)
    if uri.startswith("s3://"):
        return _load_s3(uri, chooser, key)
    path = Path(uri.removeprefix("file://")).expanduser()
    if path.is_dir():
        candidates = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(MAP_SUFFIXES))
        if not candidates:
            raise ConfigError(f"{key}: {uri}: no map files ({', '.join(MAP_SUFFIXES)}) in this directory")
        path = chooser.choice(candidates)
    elif not path.is_file():
        raise ConfigError(f"{key}: {uri}: no such file or directory")
    return _parse(path.read_text(encoding="utf-8"), str(path), key) + (str(path),)


def _load_s3(uri: str, chooser: random.Random, key: str) -> tuple[np.ndarray, dict[str, Any], str]:
    try:
        bucket, object_key = parse_s3_uri(uri)
    except ValueError as error:  # s3:// without a bucket
        raise ConfigError(f"{key}: {error}") from None
    client = make_s3_client()
    try:
        if is_directory_uri(uri):
            prefix = object_key.rstrip("/") + "/" if object_key else ""
            keys = [item["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                    for item in page.get("Contents", []) if item["Key"].endswith(MAP_SUFFIXES)]
            if not keys:
                raise ConfigError(f"{key}: {uri}: no map files under this prefix")
            object_key = chooser.choice(sorted(keys))
        body = client.get_object(Bucket=bucket, Key=object_key)["Body"].read().decode("utf-8")
    except ConfigError:
        raise
    except Exception as error:
        message = s3_error_message(error)
        if message is None:
            raise
        raise ConfigError(f"{key}: {uri}: {message}") from None
    where = f"s3://{bucket}/{object_key}"
    return _parse(body, where, key) + (where,)


def _parse(text: str, source: str, key: str) -> tuple[np.ndarray, dict[str, Any]]:
    try:
        return parse_stored_map(text, source)
    except YamlSyntaxError:
        raise  # `map.yaml:3:6: not valid YAML: ...` names the file already
    except ValueError as error:
        raise ConfigError(f"{key}: {error}") from None
