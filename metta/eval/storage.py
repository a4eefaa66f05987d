"""Stats databases by URI, opened read-only for the reports (writing by URI: metta.common.uri).

Every failure becomes a one-line `ConfigError` naming the config key and the URI, so the
tools can exit 2 with that line instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path

from metta.common.uri import first_line, s3_error_message
from metta.sim.stats_db import load_stats_db
from mettagrid.errors import ConfigError

# The tables the analysis reads; a file without them is not a stats database.
REQUIRED_TABLES = ("episodes", "simulations", "agent_policies", "agent_metrics")


def local_stats_db(uri: str, key: str, cache_dir: str | None = None) -> Path:
    """The database at `uri` as a local file (remote ones are downloaded by `metta.sim.stats_db`)."""
    try:
        path = Path(load_stats_db(uri, cache_dir=cache_dir))
    except Exception as error:  # noqa: BLE001  (tool boundary: whatever went wrong, one line)
        reason = s3_error_message(error) or first_line(error, 400)
        named = uri in reason or uri.removeprefix("file://") in reason  # stats_db names it already
        raise ConfigError(f"{key}: {reason}" if named else f"{key}: {uri}: {reason}") from None
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
