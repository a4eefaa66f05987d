"""What `wandb://sweep/<sweep_name>:best` names: a checkpoint from a sweep's shared record.

The original looked a sweep's best run up on wandb's servers. Here the sweep's own record
(`<sweep_dir>/<sweep_name>/`, the layout metta/sweep/store.py writes: `sweep.yaml` and
`runs/<run>/observation.json`) says which run scored best and which checkpoint was scored, so
the URI resolves without a network. The record is read as files, not through metta.sweep,
which sits above this layer.

    wandb://sweep/<name>:best     the checkpoint of the best-scoring successful run (the sweep's goal)
    wandb://sweep/<name>:latest   the checkpoint of the newest successful run
    wandb://sweep/<name>          the same as :best

The record is found under $METTA_SWEEP_DIR (a directory or an s3:// prefix; default
train_dir/sweeps, the sweep tools' default `sweep_dir`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from metta.common.uri import make_s3_client, parse_s3_uri, s3_errors

PREFIX = "wandb://sweep/"
DEFAULT_SWEEP_DIR = "train_dir/sweeps"


class SweepRecordError(ValueError):
    """A sweep URI that names nothing usable; one line naming the URI."""


def best_first(runs: list[dict[str, Any]], goal: str = "maximize") -> list[dict[str, Any]]:
    """Runs with a `score`, best first for `goal` (ties: the earlier run first)."""
    return sorted(runs, key=lambda run: run["score"], reverse=goal != "minimize")


def successful_runs(observations: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """{run_id: observation} -> the runs that did not fail and have a score, in run order."""
    def number(run_id: str) -> int:
        tail = run_id.rsplit(".", 1)[-1]
        return int(tail) if tail.isdigit() else -1

    out = []
    for run_id in sorted(observations, key=number):
        obs = observations[run_id]
        if not obs.get("failed") and obs.get("score") is not None:
            out.append({"run": run_id, "score": obs["score"], "cost": obs.get("cost"),
                        "params": obs.get("params") or {}, "checkpoint": obs.get("checkpoint")})
    return out


def sweep_checkpoint(uri: str, sweep_dir: str | None = None) -> str:
    """The checkpoint URI a `wandb://sweep/<name>[:best|:latest]` URI names."""
    name, _, which = uri[len(PREFIX):].strip("/").partition(":")
    which = which or "best"
    if not name or "/" in name or which not in ("best", "latest"):
        raise SweepRecordError(f"{uri}: expected wandb://sweep/<sweep_name>:best (or :latest)")
    root = sweep_dir or os.environ.get("METTA_SWEEP_DIR") or DEFAULT_SWEEP_DIR
    location = f"{root.rstrip('/')}/{name}"
    config, observations = _read_record(location, uri)
    if config is None:
        raise SweepRecordError(f"{uri}: no sweep {name!r} at {location} (set METTA_SWEEP_DIR to its sweep_dir)")
    runs = [run for run in successful_runs(observations) if run["checkpoint"]]
    if not runs:
        raise SweepRecordError(f"{uri}: sweep {name} has no successful runs with a checkpoint yet")
    chosen = runs[-1] if which == "latest" else best_first(runs, config.get("goal", "maximize"))[0]
    return chosen["checkpoint"]


def _read_record(location: str, uri: str) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """(sweep.yaml, {run_id: observation}) from a directory or an s3:// prefix."""
    if location.startswith("s3://"):
        bucket, prefix = parse_s3_uri(location)
        prefix = prefix.strip("/")
        with s3_errors(uri, error_type=SweepRecordError):
            client = make_s3_client()

            def get(key: str) -> bytes | None:
                try:
                    return client.get_object(Bucket=bucket, Key=f"{prefix}/{key}")["Body"].read()
                except client.exceptions.NoSuchKey:
                    return None

            config = get("sweep.yaml")
            runs = []
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/runs/",
                                                                          Delimiter="/"):
                runs += [p["Prefix"].rstrip("/").rsplit("/", 1)[-1] for p in page.get("CommonPrefixes", [])]
            found = {run: get(f"runs/{run}/observation.json") for run in runs}
    else:
        folder = Path(location.removeprefix("file://")).expanduser()
        sweep_file = folder / "sweep.yaml"
        config = sweep_file.read_bytes() if sweep_file.is_file() else None
        runs_dir = folder / "runs"
        found = {p.name: (p / "observation.json").read_bytes() if (p / "observation.json").is_file() else None
                 for p in (runs_dir.iterdir() if runs_dir.is_dir() else []) if p.is_dir()}
    observations = {run: json.loads(data) for run, data in found.items() if data is not None}
    return (yaml.safe_load(config) if config is not None else None), observations
