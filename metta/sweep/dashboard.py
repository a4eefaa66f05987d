"""The sweep dashboard: a local page that watches a sweep's shared record (docs/sweeps.md).

    ./tools/sweep_dashboard.py --sweep-name my_sweep [--sweep-dir s3://bucket/sweeps]

An aiohttp server on loopback serves the page (`metta/sweep/static/`, plain HTML and JS
modules, charts drawn as SVG) at `/` and a snapshot of the sweep at `/api/sweep`. The
snapshot is read from the store on every request, so the page, which polls it every
`--refresh-s` seconds, follows the sweep live as runs finish. Everything the charts show
(Pareto front, parameter importance, filters) is computed in the page from that snapshot.

A run's status:
    done       an observation with a score
    failed     an observation marked failed (or without a score)
    running    no observation yet, a heartbeat (or claim) younger than the heartbeat timeout
    abandoned  no observation and a heartbeat older than the timeout: its worker stopped, and
               the next worker to prepare a run will record it as failed
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

from metta.common.cli_parser import CliParser
from metta.sweep.store import HEARTBEAT_TIMEOUT_S, RunRecord, SweepStore
from metta.viewer.publisher import ReplayPublisher
from mettagrid.errors import ConfigError

STATIC_DIR = Path(__file__).resolve().parent / "static"
LOG_DISTRIBUTIONS = ("log_normal", "uniform_pow2")  # drawn on a log axis


# ---------------------------------------------------------------------------------------------
# the snapshot


def run_status(record: RunRecord, now: float, timeout: float = HEARTBEAT_TIMEOUT_S) -> str:
    """done | failed | running | abandoned (see the module docstring)."""
    observation = record.observation
    if observation is not None:
        return "failed" if observation.get("failed") or _number(observation.get("score")) is None else "done"
    return "abandoned" if record.stale(now, timeout) else "running"


def flat_run(record: RunRecord, now: float, timeout: float = HEARTBEAT_TIMEOUT_S) -> dict[str, Any]:
    """One run as the page reads it: claim, suggestion and observation in one flat record."""
    suggestion = record.suggestion or {}
    observation = record.observation or {}
    return {
        "run_id": record.run_id,
        "number": record.number,
        "status": run_status(record, now, timeout),
        "worker": record.claim.get("worker"),
        "phase": suggestion.get("phase"),
        "params": record.params,
        "score": _number(observation.get("score")),
        "score_std": _number(observation.get("score_std")),  # across the evaluation's episodes (measured)
        "score_n": observation.get("score_n"),
        "cost": _number(observation.get("cost")),
        "failed": bool(observation.get("failed")) if record.observation is not None else None,
        "reason": observation.get("reason"),
        "metrics": observation.get("metrics") or {},
        "info": suggestion.get("info") or {},
        "claimed_at": _number(record.claim.get("claimed_at")),
        "created_at": _number(suggestion.get("created_at")),
        "recorded_at": _number(observation.get("recorded_at")),
        "heartbeat_at": record.heartbeat,
        # Served by make_app from --train-dir; the page says so when a run has none yet.
        "links": {"curves": f"/runs/{record.run_id}/curves", "replay": f"/runs/{record.run_id}/replay"},
    }


def parameter_specs(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The sweep's parameters as dotted names with their distribution and bounds, in file order."""
    found: list[dict[str, Any]] = []

    def walk(tree: Any, prefix: str) -> None:
        if not isinstance(tree, dict):
            return
        for key, node in tree.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(node, dict) and "distribution" in node:
                distribution = node.get("distribution")
                found.append({"name": path, "distribution": distribution, "min": _bound(node.get("min")),
                              "max": _bound(node.get("max")), "mean": _bound(node.get("mean")),
                              "log": distribution in LOG_DISTRIBUTIONS})
            else:
                walk(node, path)

    walk(config.get("parameters") or {}, "")
    return found


def select_runs(records: list[RunRecord], max_observations: int | None = None, entity: str | None = None,
                project: str | None = None) -> list[RunRecord]:
    """The runs the page shows: those logged to wandb `entity`/`project` (when given; a run
    records its namespace with its suggestion), and of the finished ones only the newest
    `max_observations` (runs still going are always shown)."""
    def namespace(record: RunRecord) -> dict[str, Any]:
        return (record.suggestion or {}).get("wandb") or {}

    if entity is not None:
        records = [r for r in records if namespace(r).get("entity") == entity]
    if project is not None:
        records = [r for r in records if namespace(r).get("project") == project]
    if max_observations is not None:
        finished = [r.run_id for r in records if r.done][-max_observations:] if max_observations > 0 else []
        keep = set(finished)
        records = [r for r in records if not r.done or r.run_id in keep]
    return records


def namespaces(records: list[RunRecord]) -> list[str]:
    """The wandb `entity/project` pairs a sweep's runs were logged to."""
    found = {f"{ns.get('entity') or '(default entity)'}/{ns.get('project')}"
             for ns in ((r.suggestion or {}).get("wandb") for r in records) if ns}
    return sorted(found)


def sweep_snapshot(store: SweepStore, config: dict[str, Any], hourly_cost: float = 0.0,
                   refresh_s: float = 10.0, timeout: float = HEARTBEAT_TIMEOUT_S,
                   max_observations: int | None = None, entity: str | None = None,
                   project: str | None = None) -> dict[str, Any]:
    """What /api/sweep answers: the sweep's config and its runs (select_runs), read from the store now."""
    now = time.time()
    every = store.runs()
    records = select_runs(every, max_observations, entity, project)
    runs = [flat_run(record, now, timeout) for record in records]
    parameters = parameter_specs(config)
    known = {p["name"] for p in parameters}
    for run in runs:  # parameters a run has that the config does not name (an edited sweep)
        for name in run["params"]:
            if name not in known:
                known.add(name)
                parameters.append({"name": name, "distribution": None, "min": None, "max": None, "mean": None,
                                   "log": False})
    return {
        "sweep_name": store.sweep_name,
        "location": store.location,
        "metric": config.get("metric", "score"),
        "goal": config.get("goal", "maximize"),
        "max_runs": config.get("max_runs"),
        "config": config,
        "parameters": parameters,
        "hourly_cost": hourly_cost,
        "max_observations": max_observations,
        "runs_total": len(select_runs(every, None, entity, project)),
        "wandb": {"entity": entity, "project": project},
        "refresh_s": refresh_s,
        "heartbeat_timeout_s": timeout,
        "now": now,
        "runs": runs,
    }


def to_json(data: Any) -> str:
    """Strict JSON (the browser's JSON.parse rejects NaN): non-finite numbers become null."""
    return json.dumps(_finite(data), allow_nan=False, default=str, separators=(",", ":"))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _bound(value: Any) -> float | None:
    """A bound from the sweep file: YAML reads `1e-5` (no dot) as a string, so parse those too."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    return _number(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


# ---------------------------------------------------------------------------------------------
# the server


RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # a run directory name, never a path
CURVE_KEYS = ("overview/reward", "overview/sps", "losses/policy_loss", "losses/value_loss", "losses/entropy")


def run_dir_of(train_dir: str | Path, run_id: str) -> Path | None:
    """train_dir/<run_id>, or None for a name that is not a plain run id (no `..`, no `/`)."""
    if not RUN_ID.match(run_id) or ".." in run_id:
        return None
    return Path(train_dir) / run_id


def run_curves(run_dir: Path) -> dict[str, Any] | None:
    """A run's training curves from its metrics.jsonl: agent steps and, per key of CURVE_KEYS
    the run logged, one value per line (null where a line lacks it); None without the file."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return None
    steps: list[float] = []
    series: dict[str, list[float | None]] = {key: [] for key in CURVE_KEYS}
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a run still writing
        steps.append(_number(row.get("agent_steps")))
        for key in CURVE_KEYS:
            series[key].append(_number(row.get(key)))
    return {"agent_steps": steps, "series": {k: v for k, v in series.items() if any(x is not None for x in v)}}


def latest_replay(run_dir: Path) -> Path | None:
    replays = sorted((run_dir / "replays").glob("*.json.z"), key=lambda p: p.stat().st_mtime)
    return replays[-1] if replays else None


def make_app(store: SweepStore, config: dict[str, Any], hourly_cost: float = 0.0, refresh_s: float = 10.0,
             train_dir: str | Path = "train_dir", **selection: Any):
    """The aiohttp application: `/` (the page), `/static/...`, `/api/sweep` (the snapshot), and
    per run `/runs/<id>/curves` (its metrics.jsonl as series) and `/runs/<id>/replay` (its newest
    replay, opened in MettaScope) from `train_dir`; `selection` (max_observations, entity, project) goes to sweep_snapshot."""
    from aiohttp import web

    replays = ReplayPublisher([Path(train_dir)], f"--train-dir {train_dir}")
    pending: list[asyncio.Future] = []  # the store read in progress: requests meanwhile share it (S3 is slow)

    async def snapshot() -> dict[str, Any]:
        if not pending:
            read = asyncio.to_thread(sweep_snapshot, store, config, hourly_cost, refresh_s, HEARTBEAT_TIMEOUT_S,
                                     **selection)
            future = asyncio.ensure_future(read)
            future.add_done_callback(lambda _: pending.clear())
            pending.append(future)
        return await asyncio.shield(pending[0])

    async def index(request):
        return web.FileResponse(STATIC_DIR / "index.html")

    async def api_sweep(request):
        try:
            data = await snapshot()
        except Exception as error:  # noqa: BLE001  (the page shows it; the server keeps serving)
            return web.json_response({"error": f"{type(error).__name__}: {error}"}, status=503)
        return web.Response(text=to_json(data), content_type="application/json")

    def not_found(what: str):
        return web.json_response({"error": what}, status=404)

    async def api_curves(request):
        run_id = request.match_info["run_id"]
        run_dir = run_dir_of(train_dir, run_id)
        curves = await asyncio.to_thread(run_curves, run_dir) if run_dir else None
        if curves is None:
            return not_found(f"no {Path(train_dir) / run_id / 'metrics.jsonl'}")
        return web.Response(text=to_json({"run_id": run_id, **curves}), content_type="application/json")

    async def api_replay(request):
        """Opens the newest replay in MettaScope (a redirect to the viewer serving it);
        `?download=1` sends the .json.z file itself."""
        run_id = request.match_info["run_id"]
        run_dir = run_dir_of(train_dir, run_id)
        path = latest_replay(run_dir) if run_dir else None
        if path is None:
            return not_found(f"no replay under {Path(train_dir) / run_id / 'replays'}")
        if request.query.get("download"):
            return web.FileResponse(path, headers={"Content-Disposition": f'attachment; filename="{path.name}"'})
        url = await asyncio.to_thread(replays.url, path)  # the first one starts the viewer
        raise web.HTTPFound(url)

    async def close_viewer(app) -> None:
        await asyncio.to_thread(replays.close)

    @web.middleware
    async def no_cache(request, handler):  # the page and its data change under a running sweep
        response = await handler(request)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    app = web.Application(middlewares=[no_cache])
    app.on_cleanup.append(close_viewer)
    app.router.add_get("/", index)
    app.router.add_get("/api/sweep", api_sweep)
    app.router.add_get("/runs/{run_id}/curves", api_curves)
    app.router.add_get("/runs/{run_id}/replay", api_replay)
    app.router.add_static("/static/", STATIC_DIR, show_index=False)
    return app


async def serve(app, host: str, port: int, on_ready) -> None:
    """Serve until cancelled (Ctrl-C) or SIGTERM; `on_ready(url)` once listening."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)  # open pages must not delay Ctrl-C
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    except (NotImplementedError, RuntimeError):  # not on this platform / not the main thread
        pass
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        shown = "127.0.0.1" if bound_host in ("0.0.0.0", "::") else bound_host
        shown = f"[{shown}]" if ":" in shown else shown
        on_ready(f"http://{shown}:{bound_port}/")
        await stop.wait()
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------------------------------------
# the command line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = CliParser(prog="sweep_dashboard.py",
                       description="Serve a live dashboard of a hyperparameter sweep.")
    parser.add_argument("--sweep-name", required=True, help="the sweep to show")
    parser.add_argument("--sweep-dir", default="train_dir/sweeps",
                        help="its shared record: a directory or an s3:// prefix")
    parser.add_argument("--train-dir", default="train_dir",
                        help="where the sweep's runs trained (their curves and replays are linked from the page)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default loopback only)")
    parser.add_argument("--port", type=int, default=8050, help="port (0 = any free one)")
    parser.add_argument("--no-browser", action="store_true", help="print the URL only; do not open a browser")
    parser.add_argument("--refresh-s", type=float, default=10.0, help="seconds between the page's updates")
    parser.add_argument("--hourly-cost", type=float, default=0.0,
                        help="$ per compute hour, to show costs in $ too")
    parser.add_argument("--max-observations", type=int, default=None,
                        help="show only the newest N finished runs (default all)")
    parser.add_argument("--entity", help="only runs logged to this wandb entity (the sweep job's wandb_entity)")
    parser.add_argument("--project", help="only runs logged to this wandb project (the sweep job's wandb_project)")
    return parser.parse_args(argv)


def open_sweep(sweep_dir: str, sweep_name: str) -> tuple[SweepStore, dict[str, Any]]:
    """The store and its config; a ConfigError naming what is missing when there is no such sweep."""
    if "://" in sweep_dir and not sweep_dir.startswith(("s3://", "file://")):
        raise ConfigError(f"--sweep-dir: {sweep_dir}: use a local directory or an s3:// prefix")
    try:
        store = SweepStore(sweep_dir, sweep_name)
        config = store.sweep_config()
    except ConfigError:
        raise
    except Exception as error:  # noqa: BLE001  (S3 credentials, network, bad YAML: one line)
        raise ConfigError(f"--sweep-dir: {sweep_dir}: cannot read ({type(error).__name__}: {error})") \
            from None
    if config is None:
        names = _sweep_names(sweep_dir)
        known = f" (sweeps there: {', '.join(names)})" if names else ""
        raise ConfigError(f"--sweep-name: no sweep {sweep_name!r} in {sweep_dir} "
                          f"(no {store.location}/sweep.yaml){known}")
    return store, config


def check_namespace(store: SweepStore, entity: str | None, project: str | None) -> None:
    """With --entity/--project, the sweep must have runs logged there (else: where they are)."""
    if entity is None and project is None:
        return
    records = store.runs()
    if records and not select_runs(records, entity=entity, project=project):
        flag = "--entity" if entity is not None and not select_runs(records, entity=entity) else "--project"
        there = ", ".join(namespaces(records)) or "none (wandb off)"
        raise ConfigError(f"{flag}: sweep {store.sweep_name} has no runs logged to "
                          f"{entity or '*'}/{project or '*'} (its runs: {there})")


def _sweep_names(sweep_dir: str) -> list[str]:
    if "://" in sweep_dir:
        return []
    root = Path(sweep_dir).expanduser()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "sweep.yaml").is_file())[:10]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.refresh_s <= 0:
        print("error: --refresh-s must be positive", file=sys.stderr)
        return 2
    if args.hourly_cost < 0 or (args.max_observations is not None and args.max_observations < 1):
        print("error: --hourly-cost must be >= 0 and --max-observations >= 1", file=sys.stderr)
        return 2
    try:
        store, config = open_sweep(args.sweep_dir, args.sweep_name)
        check_namespace(store, args.entity, args.project)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app = make_app(store, config, hourly_cost=args.hourly_cost, refresh_s=args.refresh_s, train_dir=args.train_dir,
                   max_observations=args.max_observations, entity=args.entity, project=args.project)

    def ready(url: str) -> None:
        print(url, flush=True)
        print(f"sweep {args.sweep_name}: serving {store.location} at {url} (Ctrl-C to stop)", file=sys.stderr,
              flush=True)
        if not args.no_browser:
            from metta.viewer.server import open_in_browser

            open_in_browser(url)

    try:
        asyncio.run(serve(app, args.host, args.port, ready))
    except KeyboardInterrupt:
        pass
    except OSError as error:
        print(f"error: cannot serve on {args.host}:{args.port} ({error.strerror or error})", file=sys.stderr)
        return 2
    return 0
