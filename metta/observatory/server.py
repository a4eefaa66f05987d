"""The Observatory's HTTP server: static pages from ./static and a small JSON API.

  GET  /api/runs                         run summaries
  GET  /api/keys?runs=a,b                metric keys of those runs
  GET  /api/curves?runs=a,b&keys=k&from=i,j   columns from row i of a, j of b (polling sends what it has),
                                         and each run's status
  GET  /api/checkpoints?run=a            checkpoints, scores from every known stats DB, replays
  POST /api/evaluate {run, checkpoint, suite, episodes}   queues tools/sim.py
  GET  /api/dbs, /api/scorecard?db=u&db=v   the evaluation browser
  GET  /api/launch/options; POST /api/launch/check, /api/launch   the launch form
  GET  /api/jobs, /api/jobs/<id>/log     the queue
  POST /api/replay {path}                publishes a replay in MettaScope and returns its URL
"""

from __future__ import annotations

import json
import mimetypes
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from metta.observatory import evals, launch
from metta.observatory.jobs import JobQueue
from metta.observatory.runs import RunStore, checkpoints
from metta.viewer.publisher import ReplayPublisher
from mettagrid.errors import ConfigError

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_BODY = 64_000
CURVE_POINTS = 20_000


class Observatory:
    """Everything the handlers need: the runs, the queue, the viewer, the settings."""

    def __init__(self, train_dirs: list[Path], state_dir: Path, main_metric: str = "reward",
                 eval_db_uris: list[str] | None = None, cache_dir: str | None = None,
                 s3_train_dirs: list[str] | None = None):
        self.train_dirs = [p.resolve() for p in train_dirs]
        self.state_dir = state_dir.resolve()
        self.s3_train_dirs = list(s3_train_dirs or [])
        self.runs = RunStore(self.train_dirs, self.s3_train_dirs, self.state_dir / "s3-mirror")
        self.queue = JobQueue(self.state_dir, Path.cwd())
        self.main_metric = main_metric
        self.eval_db_uris = list(eval_db_uris or [])
        self.cache_dir = cache_dir
        # mirrored s3 runs live under state_dir, so their replays are allowed too
        self.replays = ReplayPublisher([*self.train_dirs, self.state_dir])
        self.runs.refresh()  # read every metrics.jsonl once now, so the first page load is not the slow one

    # -- data ----------------------------------------------------------------------------------

    def dbs(self) -> list[str]:
        return list(dict.fromkeys(self.eval_db_uris + evals.known_dbs(self.train_dirs, self.queue.list())))

    def checkpoints(self, name: str) -> dict[str, Any]:
        run = self.runs.get(name)
        if run is None:
            raise ConfigError(f"run: no run named {name!r} under {', '.join(map(str, self.train_dirs))}")
        scores = evals.checkpoint_scores(evals.safe_table(self.dbs(), self.cache_dir), name, self.main_metric)
        jobs = [j for j in self.queue.list() if j["kind"] == "evaluate" and j["meta"].get("run") == name]
        rows = checkpoints(run.path, run.remote)
        for row in rows:
            row["evaluated"] = scores.get(row["version"])
            mine = [j for j in jobs if j["meta"].get("checkpoint") == row["path"]]
            row["jobs"] = [{"id": j["id"], "status": j["status"]} for j in mine]
            row["replays"] = sorted(str(p) for j in mine for p in Path(j["meta"]["replays"]).rglob("*.json*"))
        replays = sorted(str(p) for p in (run.path / "replays").rglob("*.json*"))
        return {"run": name, "checkpoints": rows, "replays": replays, "main_metric": self.main_metric}

    def evaluate(self, body: dict[str, Any]) -> dict[str, Any]:
        name, path = str(body.get("run", "")), str(body.get("checkpoint", ""))
        known = {c["path"] for c in self.checkpoints(name)["checkpoints"]}
        if path not in known:
            raise ConfigError(f"checkpoint: {path!r} is not a checkpoint of run {name!r}")
        suite = str(body.get("suite") or "smoke_test")
        if suite not in launch.group_options()["sim"]:
            raise ConfigError(f"suite: no configs/sim/{suite}.yaml")
        episodes = int(body.get("episodes") or 1)
        if not 1 <= episodes <= 100:
            raise ConfigError(f"episodes: {episodes} is outside 1..100")
        stem = f"{Path(path).stem.replace(':', '_')}-{suite}-{uuid.uuid4().hex[:6]}"
        stats_db, replay_dir = self.state_dir / "evals" / f"{stem}.duckdb", self.state_dir / "evals" / f"{stem}-replays"
        args = [f"sim_job.policy_uris=[\"{path}\"]", f"sim_job.simulation_suite={suite}",
                f"sim_job.num_episodes={episodes}", f"sim_job.stats_db_uri={stats_db}",
                f"sim_job.replay_dir={replay_dir}", f"train_dir={self.train_dirs[0]}"]
        return self.queue.submit("evaluate", "sim.py", args, {"run": name, "checkpoint": path, "suite": suite,
                                                              "stats_db": str(stats_db), "replays": str(replay_dir)})

    def launch(self, body: dict[str, Any], start: bool) -> dict[str, Any]:
        overrides, problems = launch.check(body)
        run = str(body.get("run") or "")
        if not problems and start and any((d / run).exists() for d in self.train_dirs):
            problems.append(f"run: {self.train_dirs[0] / run} exists already (pick another name)")
        if problems or not start:
            return {"ok": not problems, "problems": problems, "overrides": overrides}
        args = [f"run={run}", f"train_dir={self.train_dirs[0]}", *overrides]
        job = self.queue.submit("train", "train.py", args, {"run": run})
        return {"ok": True, "problems": [], "overrides": overrides, "job": job}

    def replay_url(self, path: str) -> str:
        return self.replays.url(path)

    def close(self) -> None:
        self.queue.close()
        self.replays.close()


def make_server(app: Observatory, port: int = 0, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def _dispatch(self, method: str) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            try:
                if url.path.startswith("/api/"):
                    body = self._body() if method == "POST" else {}
                    self._json(route(app, method, url.path, query, body))
                elif method == "GET":
                    self._static(url.path)
                else:
                    self._send(405, b"method not allowed", "text/plain")
            except ConfigError as error:
                self._json({"error": str(error).splitlines()[0]}, 400)
            except (ValueError, KeyError) as error:
                self._json({"error": f"bad request: {error}"}, 400)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise ValueError(f"body of {length} bytes is over {MAX_BODY}")
            data = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            return data

        def _static(self, path: str) -> None:
            name = "index.html" if path in ("/", "") else path.lstrip("/")
            target = (STATIC_DIR / name).resolve()
            if not target.is_relative_to(STATIC_DIR) or not target.is_file():
                self._send(404, b"not found", "text/plain")
                return
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            self._send(200, target.read_bytes(), kind)

        def _json(self, data: Any, code: int = 200) -> None:
            self._send(code, json.dumps(data, separators=(",", ":"), allow_nan=False, default=str).encode(),
                       "application/json")

        def _send(self, code: int, data: bytes, kind: str) -> None:
            try:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the page navigated away before its answer came: nothing to tell it

        def log_message(self, format: str, *args) -> None:  # polling makes one line per request noise
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def _list(query: dict[str, list[str]], key: str) -> list[str]:
    return [part for value in query.get(key, []) for part in value.split(",") if part]


def route(app: Observatory, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]) -> Any:
    if method == "GET" and path == "/api/runs":
        return {"runs": app.runs.summaries(), "train_dirs": [str(d) for d in app.train_dirs] + app.s3_train_dirs,
                "problems": app.runs.problems()}
    if method == "GET" and path == "/api/keys":
        return {"keys": app.runs.keys(_list(query, "runs"))}
    if method == "GET" and path == "/api/curves":
        names, keys = _list(query, "runs"), _list(query, "keys")
        starts = [int(s) for s in _list(query, "from")] + [0] * len(names)
        runs = app.runs.refresh()
        # Overlaying many long runs: at most ~CURVE_POINTS points per metric on the page in all,
        # so 50 runs of 1,000 epochs still load in well under a second; one run gets every row.
        longest = max((len(runs[n].metrics.steps) for n in names if n in runs), default=0)
        stride = int(query.get("stride", [0])[0]) or max(1, -(-longest * len(names) // CURVE_POINTS))
        now = time.time()  # each run's status rides along, so a run page polls one URL
        return {"stride": stride, "runs": {n: {**runs[n].curves(keys, start, stride),
                                               **dict(zip(("status", "status_why"), runs[n].status(now)))}
                                           for n, start in zip(names, starts) if n in runs}}
    if method == "GET" and path == "/api/checkpoints":
        return app.checkpoints(query.get("run", [""])[0])
    if method == "POST" and path == "/api/evaluate":
        return {"job": app.evaluate(body)}
    if method == "GET" and path == "/api/dbs":
        return {"dbs": app.dbs(), "main_metric": app.main_metric}
    if method == "GET" and path == "/api/scorecard":
        uris = query.get("db") or app.dbs()
        if not uris:
            raise ConfigError("scorecard: no stats DB yet (evaluate a checkpoint, or pass observatory.eval_db_uris)")
        return evals.scorecard(uris, app.main_metric, app.cache_dir)
    if method == "GET" and path == "/api/launch/options":
        return {"groups": launch.group_options(), "train_dir": str(app.train_dirs[0])}
    if method == "POST" and path in ("/api/launch/check", "/api/launch"):
        return app.launch(body, start=path == "/api/launch")
    if method == "GET" and path == "/api/jobs":
        return {"jobs": app.queue.list()}
    if method == "GET" and path.startswith("/api/jobs/") and path.endswith("/log"):
        job_id = path[len("/api/jobs/"):-len("/log")]
        return {"job": app.queue.get(job_id), "log": app.queue.log(job_id)}
    if method == "POST" and path == "/api/replay":
        return {"url": app.replay_url(str(body.get("path", "")))}
    raise KeyError(f"{method} {path}")
