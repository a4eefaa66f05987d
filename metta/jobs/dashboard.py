"""`tools/dashboard.py`: evaluation scores and training curves as one dashboard JSON, written
locally or to S3, and optionally shown by a local scorecard server."""

from __future__ import annotations

import json
import sys

from pydantic import BaseModel, ConfigDict, Field

from metta.common.uri import write_output
from metta.eval.analysis import EvalTable, load_table, run_name, select_metrics
from metta.eval.dashboard import build_dashboard, find_runs, make_server, matches, server_url
from mettagrid.errors import ConfigError


class DashboardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    eval_db_uris: str | list[str] = Field(
        default_factory=list, description="Stats DBs: path, file://, s3://, wandb://; empty = every evaluation "
        "recorded in <train_dir>/evaluations.jsonl of each of train_dirs")
    train_dirs: list[str] = Field(["train_dir"], description="Directories of runs (<dir>/<run>/metrics.jsonl)")
    runs: list[str] = Field(default_factory=list, description="Run directories (or their metrics.jsonl)")
    policies: list[str] | None = Field(None, description="Only these runs (or run:vN checkpoints); null = all")
    metrics: list[str] | None = Field(None, description="Evaluation metric names or globs; null = all")
    main_metric: str = Field("reward", description="Metric that ranks policies")
    curve_keys: list[str] = Field(["overview/reward", "overview/sps"], description="metrics.jsonl keys to plot")
    max_curve_points: int = Field(500, ge=2, description="Points kept per curve")
    output_path: str | None = Field("./dashboard.json", description="Local path or s3://bucket/key.json; null = none")
    serve: bool = Field(False, description="Serve the scorecard page on 127.0.0.1 until interrupted")
    port: int = Field(8000, ge=0, le=65535, description="Port for serve; 0 = any free port")
    cache_dir: str | None = Field(None, description="Where remote databases are downloaded")

    def db_uris(self) -> list[str]:
        return [self.eval_db_uris] if isinstance(self.eval_db_uris, str) else list(self.eval_db_uris)


def run_dashboard(job: DashboardConfig) -> tuple[dict, bytes, str | None]:
    """(dashboard, its JSON bytes, where it was written or None)."""
    uris = job.db_uris() or recorded_db_uris(job.train_dirs)
    table = load_table(uris, "dashboard.eval_db_uris", job.cache_dir) if uris else EvalTable()
    runs = find_runs(job.train_dirs, job.runs)
    if job.policies:
        table = table.restricted(policies={p for p in table.policies() if matches(p, job.policies)})
        wanted_runs = {run_name(name) for name in job.policies}  # "run1:v10" still shows run1's curves
        runs = {name: path for name, path in runs.items() if name in wanted_runs}
    table = table.restricted(metrics=select_metrics(table.metrics, job.metrics, job.main_metric))
    if not table.cells and not runs:
        raise ConfigError(
            "dashboard: nothing to show (give dashboard.eval_db_uris=[...] and/or dashboard.train_dirs=[...]"
            + (", or check dashboard.policies" if job.policies else "") + ")"
        )
    dashboard = build_dashboard(table, runs, job.main_metric, tuple(job.curve_keys), job.max_curve_points)
    data = json.dumps(dashboard, separators=(",", ":")).encode()
    written = None
    if job.output_path:
        written = write_output(job.output_path, data, "dashboard.output_path", "application/json")
    return dashboard, data, written


def recorded_db_uris(train_dirs: list[str]) -> list[str]:
    """Every evaluation `tools/sim.py` recorded under these directories, oldest first."""
    from metta.sim.eval_index import record_db_uri, recorded_evaluations

    found = [uri for train_dir in train_dirs for r in reversed(recorded_evaluations(train_dir))
             if (uri := record_db_uri(r))]
    return list(dict.fromkeys(found))


def serve_dashboard(data: bytes, port: int) -> None:
    """Serve until Ctrl-C; the URL goes to stdout at once so scripts can pick it up."""
    try:
        server = make_server(data, port)
    except OSError as error:
        raise ConfigError(f"dashboard.port: cannot listen on 127.0.0.1:{port} ({error.strerror or error})") from None
    print(f"scorecard: {server_url(server)}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def summary_line(dashboard: dict, written: str | None) -> str:
    counts = (f"{len(dashboard['policies'])} policies, {len(dashboard['evaluations'])} evaluations, "
              f"{len(dashboard['training'])} training runs")
    return f"dashboard: {written} ({counts})" if written else f"dashboard: {counts}"


def run_and_maybe_serve(job: DashboardConfig) -> None:
    dashboard, data, written = run_dashboard(job)
    print(summary_line(dashboard, written), flush=True)
    if job.serve:
        serve_dashboard(data, job.port)
    elif not written:
        print("dashboard: nothing written (dashboard.output_path=null and dashboard.serve=false)", file=sys.stderr)


def main(cfg) -> None:
    """tools/dashboard.py."""
    from metta.common.tool import validate_job

    run_and_maybe_serve(validate_job(cfg, "dashboard_job")["dashboard"])
