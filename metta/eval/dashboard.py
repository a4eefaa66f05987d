"""The dashboard: evaluation scores of many policies and the training curves of their runs,
as one JSON document (docs/analysis.md describes it), and a tiny local server that shows it
with `static/scorecard.html`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from metta.eval.analysis import EvalTable, PolicyRef, policy_score
from metta.eval.statistics import Summary

DASHBOARD_FORMAT = "metta.dashboard/1"
SCORECARD_PAGE = Path(__file__).with_name("static") / "scorecard.html"
METRICS_FILE = "metrics.jsonl"  # written by metta.rl.metrics_log.JsonlSink, one object per epoch
CURVE_X = "agent_steps"


# -- training runs -------------------------------------------------------------------------------


def find_runs(train_dirs: list[str], runs: list[str], warn=None) -> dict[str, Path]:
    """Run name -> metrics.jsonl: every run under each train dir, plus each run given directly
    (a run directory or its metrics.jsonl). A path that holds nothing is reported to `warn`
    and skipped, so a default `train_dir` that does not exist yet is not an error."""
    warn = warn or (lambda message: print(f"dashboard: {message}", file=sys.stderr))
    found: dict[str, Path] = {}
    for train_dir in train_dirs:
        root = Path(train_dir).expanduser()
        files = sorted(root.glob(f"*/{METRICS_FILE}")) if root.is_dir() else []
        if not files:
            warn(f"{train_dir}: no training runs (no */{METRICS_FILE}), skipped")
        found.update({path.parent.name: path for path in files})
    for run in runs:
        path = Path(run).expanduser()
        path = path if path.name == METRICS_FILE else path / METRICS_FILE
        if path.is_file():
            found[path.parent.name] = path
        else:
            warn(f"{run}: no {METRICS_FILE} there, skipped")
    return found


def read_curves(path: Path, keys: list[str], max_points: int) -> dict[str, list[list[float]]]:
    """[[agent_steps, value], ...] per key. Lines that do not parse are skipped: the last line
    of a run still being written may be cut short."""
    curves: dict[str, list[list[float]]] = {key: [] for key in keys}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            x = record.get(CURVE_X) if isinstance(record, dict) else None
            if not _is_number(x):
                continue
            for key in keys:
                value = record.get(key)
                if _is_number(value):
                    curves[key].append([x, value])
    return {key: thin(points, max_points) for key, points in curves.items() if points}


def thin(points: list, max_points: int) -> list:
    """At most `max_points` evenly spaced points, first and last kept (keeps the JSON small
    for long runs without changing the curve's shape at dashboard scale)."""
    if len(points) <= max_points or max_points < 2:
        return points
    last = len(points) - 1
    return [points[round(i * last / (max_points - 1))] for i in range(max_points)]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# -- the document --------------------------------------------------------------------------------


def matches(policy: PolicyRef, names: list[str]) -> bool:
    """`dashboard.policies` entries name runs (every checkpoint) or single checkpoints."""
    return policy.run in names or policy.label in names or policy.key in names


def build_dashboard(
    table: EvalTable,
    runs: dict[str, Path],
    main_metric: str = "reward",
    curve_keys: tuple[str, ...] = ("overview/reward", "overview/sps"),
    max_points: int = 500,
) -> dict:
    metrics = [main_metric] + sorted(table.metrics - {main_metric})
    scores = {p: policy_score(table, p, "score", main_metric) for p in table.policies()}
    policies = sorted(scores, key=lambda p: (scores[p] is None, -(scores[p] or 0.0), p.key, p.version_order()))
    evaluations = table.evaluations()

    def matrix(value) -> list[list]:
        return [[value(table.cells.get((p, e)), p, e) for e in evaluations] for p in policies]

    def stat(metric: str, pick):
        return matrix(lambda cell, p, e: None if cell is None else pick(cell.metric(metric)))

    def ci(summary: Summary):
        interval = summary.ci95()
        return list(interval) if interval else None

    training = []
    for name, path in sorted(runs.items()):
        curves = read_curves(path, list(curve_keys), max_points)
        training.append({"run": name, "source": str(path), "x": CURVE_X, "curves": curves})
    return {
        "format": DASHBOARD_FORMAT,
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "sources": {"eval_dbs": table.sources, "runs": {name: str(path) for name, path in sorted(runs.items())}},
        "main_metric": main_metric,
        "metrics": metrics,
        "policies": [
            {"id": p.label, "policy_key": p.key, "policy_version": p.version or None, "run": p.run, "score": scores[p]}
            for p in policies
        ],
        "evaluations": [{"id": e, "category": table.categories[e]} for e in evaluations],
        "agent_episodes": matrix(lambda cell, p, e: None if cell is None else cell.agent_episodes),
        "scores": {m: {"mean": stat(m, lambda s: s.mean), "ci95": stat(m, ci)} for m in metrics},
        "training": training,
    }


# -- serving -------------------------------------------------------------------------------------


def make_server(data: bytes, port: int = 0, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server for the scorecard page at / and the dashboard JSON at /dashboard.json.

    Both are held in memory: the page shows exactly what was just built, wherever the JSON
    was written (S3 included). Bound to loopback only; port 0 lets the OS pick a free one.
    """
    page = SCORECARD_PAGE.read_bytes()
    routes = {
        "/": (page, "text/html; charset=utf-8"),
        "/index.html": (page, "text/html; charset=utf-8"),
        "/dashboard.json": (data, "application/json"),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = routes.get(self.path.split("?", 1)[0])
            body, content_type = route or (b"not found\n", "text/plain")
            self.send_response(200 if route else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # one line per request is noise here
            pass

    return ThreadingHTTPServer((host, port), Handler)


def server_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"
