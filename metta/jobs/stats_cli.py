"""`tools/stats_duckdb_cli.py`: a small SQL shell over a stats DB.

The duckdb command-line binary is not pip-installable, so this is a shell of its own:
statements end with `;` and may span lines; results print as aligned tables; `.tables`,
`.schema [table]`, `.help` and `.quit` are the dot commands; line editing and history come
from `readline` when the input is a terminal. The DB is opened read-only (temporary tables
still work), after a remote one has been downloaded into the cache.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from metta.sim.stats_db import StatsDBError, load_stats_db, open_stats_db
from mettagrid.errors import ConfigError

_SQL_FLAGS = ("-c", "--sql")
_HELP = """\
.tables            list tables and views
.schema [TABLE]    the CREATE statement of one table or view (all without TABLE)
.quit / .exit      leave (Ctrl-D too)
SQL ending in ";"  run it (may span lines), e.g.
                   SELECT policy_name, AVG(value) FROM agent_metrics
                   WHERE metric = 'reward' GROUP BY policy_name;"""


class StatsCliConfig(BaseModel):
    """The keys of configs/stats_cli_job.yaml."""

    model_config = ConfigDict(extra="forbid")

    eval_db_uri: str | None = Field(None, description="The stats DB: a path, file://, s3:// or wandb://")
    cache_dir: str | None = Field(
        None, description="Where remote DBs are downloaded; null = $METTA_CACHE_DIR/stats or ~/.cache/metta/stats")


# The SQL given with -c/--sql: taken out of argv before Hydra parses it (Hydra reads `-c` as
# `--cfg`, and SQL does not survive Hydra's override grammar), then read by `main`.
_sql_from_argv: str | None = None


def take_sql_from_argv() -> None:
    """tools/stats_duckdb_cli.py calls this before Hydra sees sys.argv."""
    global _sql_from_argv
    _sql_from_argv, sys.argv = split_cli_args(sys.argv)


def main(cfg) -> int:
    """tools/stats_duckdb_cli.py: exit status 0, or 1 after an SQL error."""
    from metta.common.tool import validate_job

    job = validate_job(cfg, "stats_cli_job")[""]
    return run_stats_cli(job.eval_db_uri, _sql_from_argv, job.cache_dir)


def split_cli_args(argv: list[str]) -> tuple[str | None, list[str]]:
    """Take `-c SQL` / `--sql SQL` / `--sql=SQL` out of argv before Hydra sees it."""
    sql, rest, args = None, [argv[0]], iter(argv[1:])
    for arg in args:
        if arg in _SQL_FLAGS:
            sql = next(args, None)
            if sql is None:
                raise ConfigError(f"{arg}: needs the SQL to run, e.g. {arg} \"SELECT COUNT(*) FROM episodes\"")
        elif arg.startswith("--sql="):
            sql = arg[len("--sql=") :]
        else:
            rest.append(arg)
    return sql, rest


def run_stats_cli(eval_db_uri: str | None, sql: str | None = None, cache_dir: str | None = None,
                  stdin: TextIO = sys.stdin, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run `sql` (exit status 0 on success, 1 on an SQL error) or an interactive shell."""
    if not eval_db_uri:
        raise ConfigError("eval_db_uri: no stats DB given (add +eval_db_uri=PATH, s3://... or wandb://...)")
    try:
        path = load_stats_db(str(eval_db_uri), cache_dir=cache_dir)
        with open_stats_db(path) as con:
            shell = SqlShell(con, out, err)
            if sql is not None:
                return 0 if shell.run_sql(sql) else 1
            if "://" in eval_db_uri and not eval_db_uri.startswith("file://"):
                print(f"(downloaded to {path})", file=err)
            return shell.interact(stdin)
    except StatsDBError as error:
        raise ConfigError(str(error)) from None


class SqlShell:
    def __init__(self, con: duckdb.DuckDBPyConnection, out: TextIO = sys.stdout, err: TextIO = sys.stderr):
        self.con, self.out, self.err = con, out, err

    # -- one input -------------------------------------------------------------------------------

    def run_sql(self, sql: str) -> bool:
        """Run every statement of `sql`, printing each result; False after an error."""
        try:
            for statement in self.con.extract_statements(sql):
                cursor = self.con.execute(statement)
                if cursor.description is not None:
                    columns = [d[0] for d in cursor.description]
                    self.out.write(format_table(columns, cursor.fetchall()))
        except duckdb.Error as error:
            print(f"Error: {' '.join(str(error).split())}", file=self.err)
            self.err.flush()
            return False
        return True

    def run_dot_command(self, line: str) -> bool:
        """A `.command`; returns False when the shell should stop."""
        command, _, argument = line.strip().partition(" ")
        argument = argument.strip().rstrip(";")
        if command in (".quit", ".exit", ".q"):
            return False
        if command == ".tables":
            names = [row[0] for row in self.con.execute("SHOW TABLES").fetchall()]
            print("  ".join(names), file=self.out)
        elif command == ".schema":
            self._print_schema(argument)
        elif command == ".help":
            print(_HELP, file=self.out)
        else:
            print(f"Error: unknown command {command} (try .help)", file=self.err)
        return True

    def _print_schema(self, name: str) -> None:
        rows = self.con.execute(
            """
            SELECT table_name, sql FROM duckdb_tables() WHERE NOT temporary AND (? = '' OR table_name = ?)
            UNION ALL
            SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND (? = '' OR view_name = ?)
            ORDER BY 1
            """,
            [name, name, name, name],
        ).fetchall()
        if not rows:
            print(f"Error: no table or view named {name!r}", file=self.err)
        for _, sql in rows:
            print(sql if sql.rstrip().endswith(";") else sql + ";", file=self.out)

    # -- the loop --------------------------------------------------------------------------------

    def interact(self, stdin: TextIO = sys.stdin) -> int:
        tty = stdin.isatty()
        read = _terminal_reader() if tty and stdin is sys.stdin else _stream_reader(stdin, self.out, tty)
        if tty:
            print('stats DB shell: end SQL with ";", .help for commands, .quit to leave', file=self.out)
        buffer: list[str] = []
        while True:
            try:
                line = read("   ...> " if buffer else "stats> ")
            except KeyboardInterrupt:  # Ctrl-C drops the statement being typed, as shells do
                print(file=self.out)
                buffer = []
                continue
            if line is None:  # end of input
                if buffer:
                    self.run_sql("\n".join(buffer))
                if tty:
                    print(file=self.out)
                return 0
            if not buffer and line.strip().startswith("."):
                if not self.run_dot_command(line):
                    return 0
                continue
            if not buffer and not line.strip():
                continue
            buffer.append(line)
            if line.rstrip().endswith(";"):
                self.run_sql("\n".join(buffer))
                buffer = []
            self.out.flush()


def _terminal_reader() -> Callable[[str], str | None]:
    """input() with readline editing and a history file kept across sessions."""
    try:
        import readline
    except ImportError:  # e.g. Windows without pyreadline
        readline = None
    history = Path(os.environ.get("METTA_CACHE_DIR") or Path.home() / ".cache" / "metta") / "stats_cli_history"
    if readline is not None:
        try:
            readline.read_history_file(history)
        except OSError:
            pass

    def read(prompt: str) -> str | None:
        try:
            line = input(prompt)
        except EOFError:
            return None
        if readline is not None and line.strip():
            try:
                history.parent.mkdir(parents=True, exist_ok=True)
                readline.write_history_file(history)
            except OSError:
                pass
        return line

    return read


def _stream_reader(stdin: TextIO, out: TextIO, show_prompt: bool) -> Callable[[str], str | None]:
    def read(prompt: str) -> str | None:
        if show_prompt:
            out.write(prompt)
            out.flush()
        line = stdin.readline()
        return None if line == "" else line.rstrip("\n")

    return read


def format_table(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    """Rows under their column names, numbers right-aligned, then a row count."""
    cells = [[_cell(value) for value in row] for row in rows]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) and bool(rows)
               for i in range(len(columns))]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]

    def line(values: list[str]) -> str:
        padded = (v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric))
        return " | ".join(padded).rstrip()

    text = [line(columns), "-+-".join("-" * w for w in widths)] + [line(row) for row in cells]
    text.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(text) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
