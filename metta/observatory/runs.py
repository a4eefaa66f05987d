"""Runs under the train dirs: status from the heartbeat, a summary row, and their curves.

metrics.jsonl is read incrementally (only the bytes added since the last read), so a page
polling every few seconds costs one stat() per run when nothing changed.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from metta.observatory.s3_runs import MIN_POLL_S, S3RunMirror, mirror_root
from metta.rl.heartbeat import FILE as HEARTBEAT

STALE_AFTER_S = 120.0  # a "running" beat older than this (and than 10 epochs) means the process died
CHECKPOINT_DIR = "checkpoints"


@dataclass
class Metrics:
    """metrics.jsonl as columns: steps, wall time and every numeric key (None where absent)."""

    offset: int = 0
    steps: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    series: dict[str, list[float | None]] = field(default_factory=dict)

    def read_more(self, path: Path) -> None:
        try:
            size = path.stat().st_size
        except OSError:
            return
        if size < self.offset:  # the file was replaced (a run restarted from scratch): read it again
            self.__init__()
        if size == self.offset:
            return
        with open(path, "rb") as file:
            file.seek(self.offset)
            chunk = file.read(size - self.offset)
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits for the next read
        self.offset += len(complete)
        for line in complete.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a torn line from a crash: skip it, as the dashboard does
            if not isinstance(row, dict):
                continue
            n = len(self.steps)
            self.steps.append(float(row.get("agent_steps") or 0))
            self.times.append(float(row.get("time") or 0))
            for key, value in row.items():
                if key in ("agent_steps", "time") or isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                column = self.series.get(key)
                if column is None:
                    column = self.series[key] = [None] * n
                column.append(float(value))
            for column in self.series.values():
                if len(column) < n + 1:
                    column.append(None)

    def last(self, key: str) -> float | None:
        column = self.series.get(key, [])
        return next((v for v in reversed(column) if v is not None), None)


@dataclass
class Run:
    name: str
    path: Path
    remote: str | None = None  # the s3:// directory a mirrored run comes from
    metrics: Metrics = field(default_factory=Metrics)
    config_mtime: float = -1.0
    env: str = ""
    agent: str = ""

    def refresh(self) -> None:
        self.metrics.read_more(self.path / "metrics.jsonl")
        config = self.path / "config.yaml"
        try:
            mtime = config.stat().st_mtime
        except OSError:
            return
        if mtime != self.config_mtime:
            self.config_mtime = mtime
            try:
                data = yaml.load(config.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
            except (OSError, yaml.YAMLError):
                data = {}
            self.env = _name_of(data.get("env")) if isinstance(data, dict) else ""
            self.agent = _name_of(data.get("agent")) if isinstance(data, dict) else ""

    def status(self, now: float) -> tuple[str, str]:
        """(running | finished | failed | stopped, why)."""
        try:
            beat = json.loads((self.path / HEARTBEAT).read_text())
        except (OSError, ValueError):
            beat = None
        times = self.metrics.times
        epoch_s = (times[-1] - times[-2]) if len(times) >= 2 else 0.0
        stale = max(STALE_AFTER_S, 10 * epoch_s)
        if isinstance(beat, dict) and beat.get("status") in ("finished", "failed"):
            return beat["status"], f"exit written {_ago(now - float(beat.get('time', now)))}"
        if isinstance(beat, dict):
            age = now - float(beat.get("time", 0))
            if age > stale:
                return "failed", f"no heartbeat for {_ago(age)} (process gone without exiting)"
            return "running", f"heartbeat {_ago(age)}"
        # runs from before the heartbeat existed: judge by the metrics file alone
        try:
            age = now - (self.path / "metrics.jsonl").stat().st_mtime
        except OSError:
            return "stopped", "no metrics.jsonl and no heartbeat"
        return ("running", "metrics written recently (no heartbeat file)") if age < stale else \
            ("stopped", "no heartbeat file; metrics not written recently")

    def summary(self, now: float) -> dict[str, Any]:
        status, why = self.status(now)
        m = self.metrics
        return {"name": self.name, "path": str(self.path), "status": status, "status_why": why,
                "env": self.env, "agent": self.agent, "epochs": len(m.steps),
                "steps": m.steps[-1] if m.steps else 0, "sps": m.last("overview/sps"),
                "reward": m.last("overview/reward"), "updated": m.times[-1] if m.times else None,
                "started": m.times[0] if m.times else None, "checkpoints": len(checkpoint_files(self.path, self.remote is not None))}

    def curves(self, keys: list[str], start: int = 0, stride: int = 1) -> dict[str, Any]:
        """Rows from `start` on, every `stride`-th (real rows, never averages, so a hovered
        value is always one metrics.jsonl holds); the last row is always included."""
        m = self.metrics
        n = len(m.steps)
        rows = list(range(start, n, stride))
        if n > start and rows[-1] != n - 1:
            rows.append(n - 1)

        def take(column: list) -> list:
            return column[start:] if stride == 1 else [column[i] for i in rows]

        return {"n": n, "start": start, "stride": stride, "steps": take(m.steps), "time": take(m.times),
                "series": {k: take(m.series[k]) for k in keys if k in m.series}}


def _name_of(node: Any) -> str:
    return str(node.get("name") or "") if isinstance(node, dict) else ""


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def checkpoint_files(run_dir: Path, mirrored: bool = False) -> list[Path]:
    """The run's policy checkpoints (`<name>.pt`), oldest first. A `mirrored` s3:// run has only
    their sidecars here (`<name>.json`): the path named is then where the weights would be. A
    local run's sidecar without its weights (deleted by hand) names no checkpoint."""
    patterns = ("*.pt", "*.json") if mirrored else ("*.pt",)
    names = {p.with_suffix(".pt") for pattern in patterns for p in (run_dir / CHECKPOINT_DIR).glob(pattern)}
    names.discard(run_dir / CHECKPOINT_DIR / "trainer_state.pt")
    return sorted(names, key=lambda p: (_version(p), p.name))


def _version(path: Path) -> int:
    tail = path.stem.rpartition(":v")[2]
    return int(tail) if tail.isdigit() else -1


def checkpoints(run_dir: Path, remote: str | None = None) -> list[dict[str, Any]]:
    """Every saved policy (not the trainer state) with what its sidecar says. For a run
    mirrored from `remote` (its s3:// directory) whose weights are not here, `path` is the
    checkpoint's s3:// URI, which tools/sim.py reads directly."""
    found = []
    for path in checkpoint_files(run_dir, remote is not None):
        try:
            meta = json.loads(path.with_suffix(".json").read_text())
        except (OSError, ValueError):
            meta = {}
        where = f"{remote.rstrip('/')}/{CHECKPOINT_DIR}/{path.name}" if remote and not path.is_file() else str(path)
        found.append({"name": path.stem, "path": where, "version": _version(path),
                      "epoch": meta.get("epoch"), "agent_steps": meta.get("agent_steps"),
                      "score": meta.get("score"), "eval_scores": meta.get("eval_scores") or {}})
    return found


class RunStore:
    """Every run (a directory holding metrics.jsonl) directly under the train dirs; s3://
    train dirs are read through local mirrors (s3_runs.py) kept under `mirror_dir`."""

    def __init__(self, train_dirs: list[Path], s3_train_dirs: list[str] = (), mirror_dir: Path | None = None,
                 min_poll_s: float = MIN_POLL_S):
        self.train_dirs = train_dirs
        if s3_train_dirs and mirror_dir is None:
            raise ValueError("RunStore: s3:// train dirs need a mirror_dir")
        self.mirrors = [S3RunMirror(uri, mirror_root(mirror_dir, uri), min_poll_s) for uri in s3_train_dirs]
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    def problems(self) -> list[str]:
        """Why an s3:// train dir could not be read at its last poll (its runs show as last seen)."""
        return [m.error for m in self.mirrors if m.error]

    def refresh(self) -> dict[str, Run]:
        with self._lock:
            seen = set()
            for mirror in self.mirrors:
                mirror.sync()
            sources = [(d, None) for d in self.train_dirs] + [(m.root, m.uri.rstrip("/")) for m in self.mirrors]
            for train_dir, remote in sources:
                for metrics in sorted(train_dir.glob("*/metrics.jsonl")):
                    run_dir = metrics.parent
                    name = run_dir.name if run_dir.name not in seen else f"{train_dir.name}/{run_dir.name}"
                    seen.add(name)
                    run = self._runs.get(name)
                    if run is None or run.path != run_dir:
                        run = self._runs[name] = Run(name, run_dir, f"{remote}/{run_dir.name}" if remote else None)
                    run.refresh()
            for gone in set(self._runs) - seen:
                del self._runs[gone]
            return dict(self._runs)

    def summaries(self) -> list[dict[str, Any]]:
        now = time.time()
        return [run.summary(now) for run in self.refresh().values()]

    def get(self, name: str) -> Run | None:
        return self.refresh().get(name)

    def keys(self, names: list[str]) -> list[str]:
        runs = self.refresh()
        return sorted({k for n in names if n in runs for k in runs[n].metrics.series})
