"""Where reports come from and go to: stats databases by URI in, files or S3 objects out.

Every failure becomes a one-line `ConfigError` naming the config key and the URI, so the
tools can exit 2 with that line instead of a traceback.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from metta.common.s3 import first_line, make_s3_client, parse_s3_uri, s3_error_message
from mettagrid.errors import ConfigError

# The tables the analysis reads; a file without them is not a stats database.
REQUIRED_TABLES = ("episodes", "simulations", "agent_policies", "agent_metrics")


def local_stats_db(uri: str, key: str, cache_dir: str | None = None) -> Path:
    """The database at `uri` as a local file (remote ones are downloaded by `metta.sim.stats_db`)."""
    try:
        from metta.sim.stats_db import load_stats_db
    except ImportError:
        load_stats_db = None
    if load_stats_db is not None:
        try:
            path = Path(load_stats_db(uri, cache_dir=cache_dir))
        except Exception as error:  # noqa: BLE001  (tool boundary: whatever went wrong, one line)
            reason = s3_error_message(error) or first_line(error)
            named = uri in reason or uri.removeprefix("file://") in reason  # stats_db names it already
            raise ConfigError(f"{key}: {reason}" if named else f"{key}: {uri}: {reason}") from None
    elif "://" in uri and not uri.startswith("file://"):
        raise ConfigError(f"{key}: {uri}: only local paths can be read here (metta.sim.stats_db is missing)")
    else:
        path = Path(uri.removeprefix("file://")).expanduser()
    if not path.is_file():
        raise ConfigError(f"{key}: {uri}: no such file")
    return path


def open_stats_db(path: Path, uri: str, key: str):
    """A read-only DuckDB connection to a checked stats database."""
    import duckdb

    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise ConfigError(f"{key}: {uri}: not a readable DuckDB database ({first_line(error, 120)})") from None
    tables = {row[0] for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    missing = [table for table in REQUIRED_TABLES if table not in tables]
    if missing:
        connection.close()
        raise ConfigError(f"{key}: {uri}: not a stats database (missing tables: {', '.join(missing)})")
    return connection


def join_destination(prefix: str, name: str) -> str:
    """`prefix` (a directory or an s3:// prefix) joined with a file name."""
    if prefix.startswith("s3://"):
        return prefix.rstrip("/") + "/" + name
    return str(Path(prefix.removeprefix("file://")) / name)


def write_output(destination: str, data: bytes, key: str, content_type: str = "application/octet-stream") -> str:
    """Write `data` to a local path or an s3:// URI; returns where it went.

    Local files are written to a temporary file beside the target and renamed over it, so a
    reader (a browser, the dashboard server) never sees half a report. A single S3 PUT is
    already all-or-nothing.
    """
    if destination.startswith("s3://"):
        return _write_s3(destination, data, key, content_type)
    if "://" in destination and not destination.startswith("file://"):
        raise ConfigError(f"{key}: {destination}: unsupported destination (use a local path or s3://bucket/key)")
    path = Path(destination.removeprefix("file://")).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; reports are meant to be shared
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise ConfigError(f"{key}: {destination}: cannot write ({error.strerror or first_line(error)})") from None
    return str(path)


def _write_s3(destination: str, data: bytes, key: str, content_type: str) -> str:
    try:
        bucket, object_key = parse_s3_uri(destination)
    except ValueError as error:
        raise ConfigError(f"{key}: {error}") from None
    if not object_key or object_key.endswith("/"):
        raise ConfigError(f"{key}: {destination}: needs an object key after the bucket")
    try:
        make_s3_client().put_object(Bucket=bucket, Key=object_key, Body=data, ContentType=content_type)
    except Exception as error:
        message = s3_error_message(error)
        if message is None:
            raise
        raise ConfigError(f"{key}: {destination}: {message}") from None
    return destination
