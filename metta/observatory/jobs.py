"""A local job queue: one tools/ subprocess at a time (an evaluation or a training run).

In-process, because the Observatory is one process on one machine; each job keeps its
state (`job.json`, atomic) and its log (`log.txt`) under `<state_dir>/jobs/<id>/`, so the
list and the logs outlive a restart (a job that was running then shows "interrupted").
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from metta.common.uri import atomic_write_bytes

TOOLS_DIR = Path(__file__).resolve().parents[2] / "tools"
LOG_TAIL_BYTES = 64_000


class JobQueue:
    def __init__(self, state_dir: Path, cwd: Path):
        self.root = state_dir / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.cwd = cwd
        self._jobs: dict[str, dict[str, Any]] = {}
        self._pending: list[str] = []
        self._cv = threading.Condition()
        self._current: subprocess.Popen | None = None
        self._stopping = False
        for path in sorted(self.root.glob("*/job.json")):
            try:
                job = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if job.get("status") in ("queued", "running"):
                job["status"] = "interrupted"  # the Observatory that ran it stopped
            self._jobs[job["id"]] = job
        self._worker = threading.Thread(target=self._work, name="observatory-jobs", daemon=True)
        self._worker.start()

    def submit(self, kind: str, tool: str, args: list[str], meta: dict[str, Any] | None = None) -> dict[str, Any]:
        job_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        job_dir = self.root / job_id
        job_dir.mkdir(parents=True)
        job = {"id": job_id, "kind": kind, "tool": tool, "args": args, "status": "queued", "meta": meta or {},
               "dir": str(job_dir), "submitted": time.time(), "started": None, "ended": None, "returncode": None}
        with self._cv:
            self._jobs[job_id] = job
            self._save(job)
            self._pending.append(job_id)
            self._cv.notify()
        return dict(job)

    def list(self) -> list[dict[str, Any]]:
        with self._cv:
            return [dict(j) for j in sorted(self._jobs.values(), key=lambda j: j["submitted"], reverse=True)]

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._cv:
            job = self._jobs.get(job_id)
            return dict(job) if job else None

    def log(self, job_id: str) -> str:
        job = self.get(job_id)
        if job is None:
            return ""
        path = Path(job["dir"]) / "log.txt"
        try:
            with open(path, "rb") as file:
                file.seek(max(0, path.stat().st_size - LOG_TAIL_BYTES))
                return file.read().decode(errors="replace")
        except OSError:
            return ""

    def command(self, job: dict[str, Any]) -> list[str]:
        return [sys.executable, str(TOOLS_DIR / job["tool"]), *job["args"]]

    def close(self) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify()
            if self._current is not None and self._current.poll() is None:
                self._current.terminate()

    def _save(self, job: dict[str, Any]) -> None:
        atomic_write_bytes(Path(job["dir"]) / "job.json", json.dumps(job, indent=1).encode())

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._pending and not self._stopping:
                    self._cv.wait()
                if self._stopping:
                    return
                job = self._jobs[self._pending.pop(0)]
                job.update(status="running", started=time.time())
                self._save(job)
            code = self._run(job)
            with self._cv:
                job.update(status="done" if code == 0 else "failed", ended=time.time(), returncode=code)
                self._save(job)

    def _run(self, job: dict[str, Any]) -> int:
        command = self.command(job)
        with open(Path(job["dir"]) / "log.txt", "ab") as log:
            log.write(("$ " + " ".join(command[1:]) + "\n").encode())
            log.flush()
            try:
                process = subprocess.Popen(command, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
            except OSError as error:
                log.write(f"could not start: {error}\n".encode())
                return 127
            with self._cv:
                self._current = process
            code = process.wait()
            with self._cv:
                self._current = None
            return code
