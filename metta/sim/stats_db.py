"""The evaluation stats database: one DuckDB file per evaluation run.

Schema (docs/evaluation.md shows it with example queries)

    simulations(id, name, suite, env, policy_key, policy_version,
                npc_policy_key, npc_policy_version, created_at)
        one row per (evaluated policy, simulation of the suite); ids are UUIDs so that
        shards written by separate workers merge without clashes
    episodes(id, step_count, created_at, completed_at, simulation_id, replay_url)
    episode_attributes(episode_id, attribute, value)
        text values: `seed`, `env_index`, `num_agents`, and the game's and buildings'
        non-zero stats as `game.<stat>` / `building.<stat>`
    agent_groups(episode_id, group_id, agent_id)
    agent_policies(episode_id, agent_id, policy_key, policy_version)
        who played each agent: the evaluated policy or the simulation's NPC policy
    agent_metric_values(episode_id, agent_id, metric, value)
        the stored per-agent metrics, only the non-zero ones (`reward` is the agent's
        episode reward; the rest are the env's agent stats)
    agent_metrics  (a VIEW: every agent-episode of agent_policies times every metric name,
        the zeros filled in)
        episode_id, agent_id, metric, value, policy_key, policy_version,
        policy_name (= policy_key || ':' || policy_version), episode (= episode_id)

Why a view: the reference's example queries group `agent_metrics` by `policy_name` and
`episode` and average `value` directly. Storing only non-zero values keeps the file small,
but then `AVG(value) ... WHERE metric = 'reward'` would skip the zeros, and a policy that
scored 0 everywhere would have no row at all. The view puts the zeros back: one row per
agent-episode and metric name (every name stored anywhere in the file, plus `reward`), so
the documented queries give true means and every policy answers. Who played which agent is
still written once, in `agent_policies`.

Files are written in DuckDB's v1.1.0 storage format (`STORAGE_VERSION`), so DuckDB 1.1 and
later clients (the CLI, other languages, older Python installs) open them.

Every failure to find, read, fetch or export a DB is a `StatsDBError` with one line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Self

import duckdb

from metta.common.uri import (
    atomic_path,
    download_file,
    first_line,
    local_path,
    make_s3_client,
    parse_s3_uri,
    s3_errors,
    uri_scheme,
)

TABLES = (
    "simulations",
    "episodes",
    "episode_attributes",
    "agent_groups",
    "agent_policies",
    "agent_metric_values",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS simulations (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    suite VARCHAR NOT NULL,
    env VARCHAR NOT NULL,
    policy_key VARCHAR NOT NULL,
    policy_version VARCHAR NOT NULL,
    npc_policy_key VARCHAR,
    npc_policy_version VARCHAR,
    created_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS episodes (
    id VARCHAR PRIMARY KEY,
    step_count INTEGER,
    created_at TIMESTAMP,
    completed_at TIMESTAMP,
    simulation_id VARCHAR,
    replay_url VARCHAR
);
CREATE TABLE IF NOT EXISTS episode_attributes (episode_id VARCHAR, attribute VARCHAR, value VARCHAR);
CREATE TABLE IF NOT EXISTS agent_groups (episode_id VARCHAR, group_id INTEGER, agent_id INTEGER);
CREATE TABLE IF NOT EXISTS agent_policies (
    episode_id VARCHAR, agent_id INTEGER, policy_key VARCHAR, policy_version VARCHAR
);
CREATE TABLE IF NOT EXISTS agent_metric_values (
    episode_id VARCHAR, agent_id INTEGER, metric VARCHAR, value DOUBLE
);
CREATE OR REPLACE VIEW agent_metrics AS
WITH metric_names AS (SELECT DISTINCT metric FROM agent_metric_values UNION SELECT 'reward' AS metric)
SELECT p.episode_id, p.agent_id, k.metric, COALESCE(m.value, 0.0) AS value,
       p.policy_key, p.policy_version,
       p.policy_key || ':' || p.policy_version AS policy_name,
       p.episode_id AS episode
FROM agent_policies p
CROSS JOIN metric_names k
LEFT JOIN agent_metric_values m
    ON m.episode_id = p.episode_id AND m.agent_id = p.agent_id AND m.metric = k.metric;
"""

# The oldest DuckDB release whose clients must open our files; newer DuckDBs write a format
# older ones refuse ("version number 999, but we can only read version 64").
STORAGE_VERSION = "v1.1.0"

_COLUMNS = {
    "simulations": ("id", "name", "suite", "env", "policy_key", "policy_version",
                    "npc_policy_key", "npc_policy_version", "created_at"),
    "episodes": ("id", "step_count", "created_at", "completed_at", "simulation_id", "replay_url"),
    "episode_attributes": ("episode_id", "attribute", "value"),
    "agent_groups": ("episode_id", "group_id", "agent_id"),
    "agent_policies": ("episode_id", "agent_id", "policy_key", "policy_version"),
    "agent_metric_values": ("episode_id", "agent_id", "metric", "value"),
}


class StatsDBError(ValueError):
    """A stats DB that cannot be found, read, fetched or written; the message is one line."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)  # stored as UTC


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[Any]], chunk: int = 400) -> None:
    """Insert rows with multi-row VALUES statements (executemany runs one statement per row)."""
    columns = _COLUMNS[table]
    row_marks = "(" + ", ".join("?" * len(columns)) + ")"
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ", ".join([row_marks] * len(part))
        con.execute(sql, [value for row in part for value in row])


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_SCHEMA)


def connect_new(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A writable connection; a file it creates is in the `STORAGE_VERSION` format."""
    return duckdb.connect(str(path), config={"storage_compatibility_version": STORAGE_VERSION})


# ---------------------------------------------------------------------------------------------
# writing


class StatsWriter:
    """Writes one shard: the simulations and episodes one worker ran.

    with StatsWriter(path) as writer:
        sim_id = writer.add_simulation("walls", "navigation", "mettagrid/navigation/evals/walls",
                                       "my_run", "v12")
        writer.add_episode(result, sim_id, [("my_run", "v12")] * num_agents)
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = connect_new(self.path)
            create_schema(self.con)
        except duckdb.Error as error:
            raise StatsDBError(f"{self.path}: cannot write a stats DB here ({first_line(error)})") from None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    def add_simulation(
        self,
        name: str,
        suite: str,
        env: str,
        policy_key: str,
        policy_version: str,
        npc_policy_key: str | None = None,
        npc_policy_version: str | None = None,
    ) -> str:
        """Record one simulation of a suite for one evaluated policy; returns its id."""
        sim_id = str(uuid.uuid4())
        row = (sim_id, name, suite, env, policy_key, policy_version, npc_policy_key, npc_policy_version, _now())
        _insert(self.con, "simulations", [row])
        return sim_id

    def add_episode(
        self,
        result: dict[str, Any],
        simulation_id: str,
        agent_policies: Sequence[tuple[str, str]],
        replay_url: str | None = None,
        attributes: dict[str, Any] | None = None,
        created_at: dt.datetime | None = None,
    ) -> str:
        """Record one finished episode (a `MettaGridVecEnv.episode_results()` dict, optionally
        with a `completed_at` datetime in UTC; default: now).

        `agent_policies[a]` is the (policy_key, policy_version) that played agent `a`.
        Only non-zero metrics are stored; `reward` is the agent's episode reward.
        """
        rewards = list(result["episode_rewards"])
        num_agents = len(rewards)
        if len(agent_policies) != num_agents:
            raise ValueError(f"{len(agent_policies)} policy assignments for {num_agents} agents")
        episode_id = str(uuid.uuid4())
        completed = result.get("completed_at") or _now()
        attrs: dict[str, Any] = {"num_agents": num_agents, "env_index": result.get("env_index")}
        attrs.update({f"game.{k}": v for k, v in (result.get("game_stats") or {}).items() if v})
        attrs.update({f"building.{k}": v for k, v in _flat(result.get("building_stats") or {}).items() if v})
        attrs.update(attributes or {})
        metrics = []
        for agent, stats in enumerate(result.get("agent_stats") or [{}] * num_agents):
            values = {k: float(v) for k, v in stats.items()}
            values["reward"] = float(rewards[agent])  # the env's total, whatever the stat says
            metrics += [(episode_id, agent, k, v) for k, v in values.items() if v != 0]
        groups = result.get("agent_groups") or [0] * num_agents
        self.con.execute("BEGIN TRANSACTION")
        try:
            _insert(self.con, "episodes", [(episode_id, int(result["steps"]), created_at or completed,
                                            completed, simulation_id, replay_url)])
            _insert(self.con, "episode_attributes",
                    [(episode_id, k, _text(v)) for k, v in attrs.items() if v is not None])
            _insert(self.con, "agent_groups", [(episode_id, int(g), a) for a, g in enumerate(groups)])
            _insert(self.con, "agent_policies", [(episode_id, a, key, version)
                                                  for a, (key, version) in enumerate(agent_policies)])
            _insert(self.con, "agent_metric_values", metrics)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return episode_id


def _text(value: Any) -> str:
    """Attribute values are text; whole floats (the env's counts) read better without ".0"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _flat(stats: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Building stats may come nested by building type; flatten them to dotted names."""
    flat: dict[str, Any] = {}
    for key, value in stats.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, name + "."))
        else:
            flat[name] = value
    return flat


def merge_shards(shard_paths: Sequence[str | Path], out_path: str | Path) -> Path:
    """Merge shard DBs into `out_path` (replaced atomically: written under a temporary name,
    then renamed, so a reader never sees half a DB)."""
    out = Path(out_path)
    shards = [Path(p) for p in shard_paths]
    for shard in shards:
        check_stats_db(shard)
    try:
        with atomic_path(out) as tmp:
            con = connect_new(tmp)
            try:
                create_schema(con)
                for index, shard in enumerate(shards):
                    alias = f"shard_{index}"
                    con.execute(f"ATTACH '{_sql_string(shard)}' AS {alias} (READ_ONLY)")
                    for table in TABLES:
                        cols = ", ".join(_COLUMNS[table])
                        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {alias}.{table}")
                    con.execute(f"DETACH {alias}")
            finally:
                con.close()
                Path(f"{tmp}.wal").unlink(missing_ok=True)  # left behind only by a failed merge
    except duckdb.ConstraintException as error:
        raise StatsDBError(f"{out}: shards hold the same rows twice ({first_line(error)})") from None
    except duckdb.Error as error:
        raise StatsDBError(f"{out}: merge failed ({first_line(error)})") from None
    return out


def _sql_string(path: Path) -> str:
    return str(path).replace("'", "''")


# ---------------------------------------------------------------------------------------------
# reading


def check_stats_db(path: str | Path) -> Path:
    """`path` if it is a readable stats DB; a one-line StatsDBError otherwise."""
    with open_stats_db(path):
        pass
    return Path(path)


@contextlib.contextmanager
def open_stats_db(path: str | Path, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a local stats DB, after checking that it is one."""
    path = Path(path)
    if not path.is_file():
        raise StatsDBError(f"{path}: no such stats DB")
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as error:
        raise StatsDBError(f"{path}: not a readable DuckDB stats DB ({_duckdb_reason(error)})") from None
    try:
        present = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        missing = [t for t in (*TABLES, "agent_metrics") if t not in present]
        if missing:
            raise StatsDBError(f"{path}: a DuckDB file, but not a stats DB (missing: {', '.join(missing)})")
        yield con
    finally:
        con.close()


def _duckdb_reason(error: BaseException) -> str:
    line = first_line(error)
    if "not a valid DuckDB database file" in line:
        return "corrupt or not a DuckDB file"
    return re.sub(r"^[A-Za-z ]+Error: ", "", line)


def simulation_metric_mean(
    con: duckdb.DuckDBPyConnection, simulation_id: str, metric: str, policy_key: str, policy_version: str
) -> float | None:
    """Mean of `metric` over every agent-episode the policy played in one simulation,
    counting agent-episodes without a row as 0; None when it played none."""
    row = con.execute(
        """
        SELECT AVG(COALESCE(m.value, 0)), COUNT(*)
        FROM agent_policies p
        JOIN episodes e ON e.id = p.episode_id
        LEFT JOIN agent_metric_values m
            ON m.episode_id = p.episode_id AND m.agent_id = p.agent_id AND m.metric = ?
        WHERE e.simulation_id = ? AND p.policy_key = ? AND p.policy_version = ?
        """,
        [metric, simulation_id, policy_key, policy_version],
    ).fetchone()
    return float(row[0]) if row and row[1] else None


def simulation_episode_means(
    con: duckdb.DuckDBPyConnection, simulation_id: str, metric: str, policy_key: str, policy_version: str
) -> list[float]:
    """Per episode of one simulation, the mean of `metric` over the policy's agents (missing
    = 0, as in simulation_metric_mean): the samples behind a score's spread."""
    rows = con.execute(
        """
        SELECT AVG(COALESCE(m.value, 0))
        FROM agent_policies p
        JOIN episodes e ON e.id = p.episode_id
        LEFT JOIN agent_metric_values m
            ON m.episode_id = p.episode_id AND m.agent_id = p.agent_id AND m.metric = ?
        WHERE e.simulation_id = ? AND p.policy_key = ? AND p.policy_version = ?
        GROUP BY p.episode_id
        ORDER BY p.episode_id
        """,
        [metric, simulation_id, policy_key, policy_version],
    ).fetchall()
    return [float(row[0]) for row in rows]


# ---------------------------------------------------------------------------------------------
# fetching and exporting


def default_cache_dir() -> Path:
    base = os.environ.get("METTA_CACHE_DIR") or Path.home() / ".cache" / "metta"
    return Path(base).expanduser() / "stats"


def load_stats_db(uri: str, cache_dir: str | Path | None = None) -> Path:
    """A local, checked copy of the stats DB at `uri`: a path, `file://`, `s3://bucket/key`,
    or `wandb://<entity>/<project>/<artifact>[:version]` (`wandb://stats/<artifact>` uses
    $WANDB_ENTITY and $WANDB_PROJECT). Remote DBs are downloaded into `cache_dir`."""
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    scheme = uri_scheme(uri)
    if scheme == "file":
        return check_stats_db(local_path(uri))
    if scheme == "s3":
        return check_stats_db(_download_s3(uri, cache))
    if scheme == "wandb":
        return check_stats_db(_download_wandb(uri, cache))
    raise StatsDBError(f"{uri}: unknown URI scheme {scheme!r} (use a path, file://, s3:// or wandb://)")


def export_stats_db(db_path: str | Path, uri: str) -> str:
    """Copy the stats DB at `db_path` to a local path or `s3://` URI (a URI ending in "/"
    keeps the file name); returns where it went."""
    local = check_stats_db(db_path)
    scheme = uri_scheme(uri)
    if scheme == "file":
        dest = local_path(uri)
        if uri.endswith("/") or dest.is_dir():
            dest = dest / local.name
        if dest.resolve() == local.resolve():
            return str(dest)
        try:
            with atomic_path(dest) as tmp:
                shutil.copyfile(local, tmp)
        except OSError as error:
            raise StatsDBError(f"{uri}: cannot write ({error.strerror or first_line(error)})") from None
        return str(dest)
    if scheme == "s3":
        bucket, key = _parse_s3(uri)
        if key == "" or key.endswith("/"):
            key += local.name
        with s3_errors(uri, error_type=StatsDBError):
            make_s3_client().upload_file(str(local), bucket, key)
        return f"s3://{bucket}/{key}"
    raise StatsDBError(f"{uri}: can export only to a local path or s3:// (got scheme {scheme!r})")


def _parse_s3(uri: str) -> tuple[str, str]:
    try:
        return parse_s3_uri(uri)
    except ValueError as error:
        raise StatsDBError(str(error)) from None


def _download_s3(uri: str, cache: Path) -> Path:
    bucket, key = _parse_s3(uri)
    if not key or key.endswith("/"):
        raise StatsDBError(f"{uri}: an s3:// stats DB URI must name an object (s3://bucket/path/stats.duckdb)")
    root = (cache / "s3" / bucket).resolve()
    dest = (root / key).resolve()
    if root not in dest.parents:  # a key with ".." must not write outside the cache
        raise StatsDBError(f"{uri}: key escapes the cache directory")
    # Always fetched again: unlike checkpoints, a DB at one URI may be overwritten by a new run.
    with s3_errors(uri, error_type=StatsDBError):
        download_file(bucket, key, dest)
    return dest


_WANDB_LOCAL_HINT = ("; stats DBs on this machine are read by path instead "
                     "(an evaluation's default: ./train_dir/eval_<run>/stats.db)")


def _download_wandb(uri: str, cache: Path) -> Path:
    try:
        return _fetch_wandb(uri, cache)
    except StatsDBError as error:
        raise StatsDBError(str(error) + _WANDB_LOCAL_HINT) from None


def _fetch_wandb(uri: str, cache: Path) -> Path:
    parts = uri[len("wandb://") :].strip("/").split("/")
    if len(parts) == 2 and parts[0] in ("stats", "artifacts") and parts[1]:
        entity, project = os.environ.get("WANDB_ENTITY"), os.environ.get("WANDB_PROJECT")
        if not entity or not project:
            raise StatsDBError(f"{uri}: set WANDB_ENTITY and WANDB_PROJECT to resolve wandb://{parts[0]}/<artifact>")
        parts = [entity, project, parts[1]]
    if len(parts) != 3 or not all(parts):
        raise StatsDBError(
            f"{uri}: malformed wandb URI (use wandb://<entity>/<project>/<artifact>[:version], "
            "wandb://stats/<artifact> or wandb://artifacts/<artifact>)"
        )
    entity, project, artifact_ref = parts
    name, _, version = artifact_ref.partition(":")
    version = version or "latest"
    mode = os.environ.get("WANDB_MODE", "").lower()
    if mode in ("offline", "disabled", "dryrun"):
        raise StatsDBError(f"{uri}: WANDB_MODE={mode}, but wandb:// URIs need network access and credentials")
    try:
        import wandb
    except ImportError:
        raise StatsDBError(f"{uri}: wandb:// URIs need the wandb package (pip install wandb)") from None
    root = cache / "wandb" / entity / project / name / version
    try:
        artifact = wandb.Api().artifact(f"{entity}/{project}/{name}:{version}")
        artifact.download(root=str(root))
    except Exception as error:  # noqa: BLE001  (wandb raises many types; all mean "unreachable")
        raise StatsDBError(
            f"{uri}: could not fetch from wandb ({first_line(error)}); wandb:// URIs need network "
            "access and credentials (`wandb login` or WANDB_API_KEY)"
        ) from None
    files = sorted(p for ext in ("*.duckdb", "*.db") for p in root.rglob(ext))
    if len(files) != 1:
        raise StatsDBError(f"{uri}: expected one .duckdb or .db file in the artifact, found {len(files)}")
    return files[0]
