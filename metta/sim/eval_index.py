"""Where evaluations go by default, and the record of every evaluation run here.

Default location: an evaluation of the run `my_run` writes `<train_dir>/eval_my_run/stats.db`
(several runs in one evaluation: `eval_run1+run2`; built-ins use their name, `eval_random`).
Evaluating the same policies again replaces that file.

The record: `<train_dir>/evaluations.jsonl`, one JSON object per evaluation, oldest first:

    {"local": "eval_my_run/stats.db",                  # the DB here, relative to <train_dir>
     "stats_db": "s3://bucket/evals/nav.db",            # where it was asked to go (= local if local)
     "suite": "navigation",
     "policies": [["my_run", "v12"], ["random", "builtin"]],   # (policy_key, policy_version)
     "created_at": "2026-12-04T05:00:00+00:00"}

`tools/sim.py` and `run.py evaluate` append to it; `tools/analyze.py` without
`analysis.eval_db_uri` and `tools/dashboard.py` without `dashboard.eval_db_uris` read it, so
`analyze.py analysis.policy_uri=<run>` finds that run's evaluations by itself. A new record for
a DB file that an older record names replaces the older one (the file was overwritten). The
file is rewritten atomically under a lock, so evaluations finishing together lose nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from metta.common.uri import atomic_write_bytes

INDEX_NAME = "evaluations.jsonl"
DB_NAME = "stats.db"
_MAX_NAMED_RUNS = 3


def index_path(train_dir: str | Path) -> Path:
    return Path(train_dir) / INDEX_NAME


def eval_dir_name(policy_keys: Sequence[str]) -> str:
    """`eval_<run>` for the evaluated policies' keys, in order, each named once."""
    names = [re.sub(r"[^A-Za-z0-9._-]", "_", key) for key in dict.fromkeys(policy_keys)]
    if not names:
        return "eval"
    shown = names[:_MAX_NAMED_RUNS]
    if len(names) > _MAX_NAMED_RUNS:
        shown.append(f"{len(names) - _MAX_NAMED_RUNS}_more")
    return "eval_" + "+".join(shown)


def default_db_path(train_dir: str | Path, policy_keys: Sequence[str]) -> Path:
    return Path(train_dir) / eval_dir_name(policy_keys) / DB_NAME


@contextlib.contextmanager
def _locked(train_dir: Path) -> Iterator[None]:
    train_dir.mkdir(parents=True, exist_ok=True)
    with open(train_dir / f".{INDEX_NAME}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_index(train_dir: str | Path) -> list[dict[str, Any]]:
    """Every record, oldest first, `local` joined to `train_dir`; lines that do not parse are skipped."""
    path = index_path(train_dir)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("local") and isinstance(record.get("policies"), list):
                records.append({**record, "local": str(Path(train_dir) / record["local"])})
    return records


def _stored(record: dict[str, Any], train_dir: Path) -> dict[str, Any]:
    """A record as written: `local` relative to `train_dir` when it lies inside it, so the
    record stays right from any working directory and when the directory moves."""
    local = Path(record["local"]).resolve()
    with contextlib.suppress(ValueError):
        return {**record, "local": str(local.relative_to(train_dir.resolve()))}
    return {**record, "local": str(local)}


def record_evaluation(train_dir: str | Path, local: str | Path, stats_db: str, suite: str,
                      policies: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Append one evaluation to the record (replacing any older record of the same file)."""
    train_dir = Path(train_dir)
    record = {
        "local": str(local),
        "stats_db": stats_db,
        "suite": suite,
        "policies": [list(pair) for pair in dict.fromkeys(tuple(p) for p in policies)],
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    same = {_same_file(record["local"]), record["stats_db"]}
    with _locked(train_dir):
        kept = [r for r in read_index(train_dir)
                if _same_file(r["local"]) not in same and r.get("stats_db") not in same]
        lines = [json.dumps(_stored(r, train_dir)) for r in [*kept, record]]
        atomic_write_bytes(index_path(train_dir), ("\n".join(lines) + "\n").encode())
    return record


def _same_file(path: str) -> str:
    return str(Path(path).resolve())


def record_db_uri(record: dict[str, Any]) -> str | None:
    """Where to read a recorded evaluation: the local file while it exists, else its remote copy."""
    if Path(record["local"]).is_file():
        return record["local"]
    remote = record.get("stats_db")
    return remote if remote and remote != record["local"] and "://" in remote else None


def recorded_evaluations(train_dir: str | Path) -> list[dict[str, Any]]:
    """The records whose DB can still be read, newest first."""
    return [r for r in reversed(read_index(train_dir)) if record_db_uri(r)]
