"""The server's background matches: a scheduler thread and worker processes.

The scheduler thread owns its own database connection. In a loop it

1. gives every idle worker a match: over the open seasons, the active submission with the
   fewest matches (running ones count) is picked first, provided it has fewer than its
   season's `target_matches`; its opponents are those it met least, then those with the
   fewest matches, ties broken by a generator seeded from the season's match count. The
   match is recorded as running (its id is its seed) before it is sent out;
2. waits (at most `poll_s`, or until `wake()`) for a worker to answer, die or overrun;
3. records the answer: the scores and the season's new ratings, or an error. An error that
   one policy caused (it does not load or play) marks that submission failed; any other
   error pauses the season's scheduling for `ERROR_BACKOFF_S`.

Matches run in worker processes started with `spawn` (a fork of a process that already ran
torch or OpenMP can hang, and a crashing policy must not take the web server down). A worker
stays up between matches, so torch is imported once per worker. A worker that dies or runs
past its match's `max_match_time_s` (plus a grace) is replaced; its match becomes an error.
"""

from __future__ import annotations

import importlib
import multiprocessing
import multiprocessing.connection
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from metta.common.uri import first_line
from metta.tournament.bundle import BundleError
from metta.tournament.db import Database
from metta.tournament.limits import scrub_paths
from metta.tournament.matches import ParticipantError, SeasonSettings, timed
from metta.tournament.storage import BundleStore

DEFAULT_RUNNER = "metta.tournament.matches:run_match"
ERROR_BACKOFF_S = 60.0
OVERRUN_GRACE_S = 60.0


def import_runner(path: str) -> Callable[..., list[float]]:
    """`module:function` -> the function (a one-line ValueError otherwise)."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"match runner {path!r} must look like module:function")
    try:
        runner = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"match runner {path!r}: {first_line(error)}") from None
    if not callable(runner):
        raise ValueError(f"match runner {path!r} is not callable")  # noqa: TRY004  (a config error)
    return runner


def _worker_main(conn: Any, runner_path: str, torch_threads: int) -> None:
    """A worker process: play each match it is sent, answer with a tuple, until told None."""
    os.environ.setdefault("OMP_NUM_THREADS", str(torch_threads))
    try:
        import torch

        torch.set_num_threads(torch_threads)
    except ImportError:
        pass  # a runner that needs no torch
    runner = import_runner(runner_path)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            settings = SeasonSettings.model_validate(job["settings"])
            scores, seconds = timed(runner, settings, [Path(b) for b in job["bundles"]], job["seed"])
            answer: tuple = ("done", scores, seconds)
        except ParticipantError as error:
            answer = ("participant", error.position, error.message)
        except Exception as error:  # noqa: BLE001  (reported as the match's error)
            answer = ("error", f"{type(error).__name__}: {first_line(error)}")
        conn.send(answer)


@dataclass
class _Job:
    match_id: int
    season: str
    season_id: int
    labels: list[str]  # "policy:vN" per position
    payload: dict[str, Any]
    deadline: float
    started: float = field(default_factory=time.monotonic)


class _Worker:
    def __init__(self, context: Any, runner_path: str, torch_threads: int):
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child_conn, runner_path, torch_threads),
                                       name="tournament-match-worker", daemon=True)
        self.process.start()
        child_conn.close()
        self.job: _Job | None = None

    def send(self, job: _Job) -> None:
        self.job = job
        self.conn.send(job.payload)

    def close(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


class MatchScheduler:
    def __init__(self, db_path: str | Path, store: BundleStore, runner: str = DEFAULT_RUNNER, workers: int = 1,
                 poll_s: float = 1.0, log: TextIO = sys.stderr):
        if workers < 1:
            raise ValueError("a match scheduler needs at least one worker")
        import_runner(runner)  # a bad --match-runner fails at startup, not in a worker
        self.db_path, self.store, self.runner, self.num_workers = Path(db_path), store, runner, workers
        self.poll_s, self.log = poll_s, log
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._backoff: dict[int, float] = {}
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tournament-scheduler", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for a match now (a submission arrived) rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        db = Database(self.db_path)
        context = multiprocessing.get_context("spawn")
        # One torch thread per worker: a match steps small batches, where more threads only
        # contend (ten times slower on a busy two-core box); scale with more workers instead.
        threads = 1
        workers = [_Worker(context, self.runner, threads) for _ in range(self.num_workers)]
        try:
            while not self._stop.is_set():
                for worker in workers:
                    if worker.job is None:
                        job = self._next_job(db)
                        if job is None:
                            break
                        worker.send(job)
                busy = [worker for worker in workers if worker.job is not None]
                if not busy:
                    self._wake.wait(self.poll_s)
                    self._wake.clear()
                    continue
                handles = [w.conn for w in busy] + [w.process.sentinel for w in busy]
                multiprocessing.connection.wait(handles, timeout=self.poll_s)
                for index, worker in enumerate(workers):
                    if worker.job is not None and self._collect(db, worker):
                        worker.close(kill=True)
                        workers[index] = _Worker(context, self.runner, threads)
        except Exception as error:  # noqa: BLE001  (the web server goes on; say why matches stopped)
            print(f"tournament: the match scheduler stopped ({type(error).__name__}: {first_line(error)})",
                  file=self.log, flush=True)
        finally:
            for worker in workers:
                if worker.job is not None:
                    db.fail_match(worker.job.match_id, "the server stopped during the match")
                worker.close(kill=worker.job is not None)
            db.close()

    def _collect(self, db: Database, worker: _Worker) -> bool:
        """Record what a busy worker has to say; True when the worker must be replaced."""
        job = worker.job
        assert job is not None
        if worker.conn.poll():  # an answer, or the end of a worker that died
            replace = False
            try:
                answer = worker.conn.recv()
            except (EOFError, OSError):
                worker.process.join(timeout=5)
                answer = ("error", f"the match worker died (exit code {worker.process.exitcode})")
                replace = True
            worker.job = None
            self._record(db, job, answer)
            return replace
        if not worker.process.is_alive():
            worker.job = None
            self._record(db, job, ("error", f"the match worker died (exit code {worker.process.exitcode})"))
            return True
        if time.monotonic() > job.deadline:
            worker.job = None
            self._record(db, job, ("error", "the match ran past its time budget and was stopped"))
            return True
        return False

    def _shown(self, message: str) -> str:
        """What users see of a failure (it is stored in the database): no server paths. The log
        keeps the full message."""
        return scrub_paths(message, {self.store.root: "<storage>"})

    def _record(self, db: Database, job: _Job, answer: tuple) -> None:
        kind = answer[0]
        if kind == "done":
            scores, seconds = answer[1], answer[2]
            db.finish_match(job.match_id, scores, seconds)
            played = " vs ".join(f"{label} {score:.3f}" for label, score in zip(job.labels, scores))
            self._say(f"match {job.match_id} ({job.season}): {played} in {seconds:.1f}s")
        elif kind == "participant":
            position, message = answer[1], answer[2]
            error = f"{job.labels[position]}: {message}"
            db.fail_match(job.match_id, self._shown(error), time.monotonic() - job.started,
                          failed_position=position)
            self._say(f"match {job.match_id} ({job.season}): {error}; that submission is marked failed")
        else:
            db.fail_match(job.match_id, self._shown(answer[1]), time.monotonic() - job.started)
            self._backoff[job.season_id] = time.monotonic() + ERROR_BACKOFF_S
            self._say(f"match {job.match_id} ({job.season}) failed: {answer[1]}; "
                      f"season paused for {ERROR_BACKOFF_S:.0f}s")

    def _say(self, line: str) -> None:
        print(f"tournament: {line}", file=self.log, flush=True)

    # -- choosing the next match ----------------------------------------------------------------

    def _next_job(self, db: Database) -> _Job | None:
        choice = None
        for season in db.seasons():
            if season["status"] != "open" or self._backoff.get(season["id"], 0.0) > time.monotonic():
                continue
            try:
                settings = SeasonSettings.model_validate(season["settings"])
            except ValidationError as error:
                self._backoff[season["id"]] = time.monotonic() + ERROR_BACKOFF_S
                self._say(f"season {season['name']}: bad settings ({first_line(error)})")
                continue
            entries = sorted(db.schedulable(season["id"]), key=lambda e: (e["matches"], e["submission_id"]))
            if len(entries) < settings.policies_per_match or entries[0]["matches"] >= settings.target_matches:
                continue
            if choice is None or entries[0]["matches"] < choice[0]:
                choice = (entries[0]["matches"], season, settings, entries)
        if choice is None:
            return None
        _, season, settings, entries = choice
        first, others = entries[0], entries[1:]
        met = db.head_to_head(first["submission_id"])
        rng = random.Random(season["id"] * 1_000_003 + sum(e["matches"] for e in entries))
        others.sort(key=lambda e: (met.get(e["submission_id"], 0), e["matches"], rng.random()))
        players = [first] + others[: settings.policies_per_match - 1]
        rng.shuffle(players)
        bundles = []
        for player in players:
            try:
                bundles.append(str(self.store.unpacked(player["sha256"], player["blob_path"])))
            except (BundleError, OSError) as error:
                reason = f"its bundle cannot be unpacked ({first_line(error)})"
                self._say(f"submission {player['submission_id']} ({player['policy']}:v{player['version']}): {reason}")
                db.fail_submission(player["submission_id"], self._shown(reason))
                return None
        match_id, seed = db.start_match(season["id"], [p["submission_id"] for p in players])
        payload = {"settings": settings.model_dump(), "bundles": bundles, "seed": seed}
        return _Job(match_id, season["name"], season["id"], [f"{p['policy']}:v{p['version']}" for p in players],
                    payload, deadline=time.monotonic() + settings.max_match_time_s + OVERRUN_GRACE_S)
