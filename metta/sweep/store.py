"""The shared record of a sweep: a directory or an s3:// prefix that every worker reads and writes.

Layout under `<root>/<sweep_name>/`:

    sweep.yaml                      the sweep's config (written once, by whoever creates it)
    runs/<run_id>/claim.json        who took this run id and when (created exclusively)
    runs/<run_id>/suggestion.json   the parameters Protein suggested, and the phase
    runs/<run_id>/heartbeat.json    refreshed by the worker while it trains and evaluates
    runs/<run_id>/observation.json  score, score_std, score_n, cost, failed?, metrics: the run is done

Run ids are `<sweep_name>.r.<n>`. A worker claims the lowest free number by creating its
`claim.json` exclusively: `O_CREAT | O_EXCL` on a filesystem, a conditional PUT
(`If-None-Match: *`) on S3. Exactly one creator wins, so no two workers ever get one id.
A claimed run without an observation whose heartbeat is older than the timeout belongs to a
worker that died; the next worker that notices records it as failed. A worker's heartbeats
name its host and pid, so a worker that died on this machine is noticed by the next worker
started here at once, without waiting for the timeout.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mettagrid.errors import ConfigError, parse_yaml

HEARTBEAT_TIMEOUT_S = 600.0


class Backend:
    """Bytes by relative path; `create` is all-or-nothing and exclusive."""

    def create(self, path: str, data: bytes) -> bool: ...

    def write(self, path: str, data: bytes) -> None: ...

    def read(self, path: str) -> bytes | None: ...

    def list_dirs(self, path: str) -> list[str]: ...


class LocalBackend(Backend):
    def __init__(self, root: Path):
        self.root = root

    def create(self, path: str, data: bytes) -> bool:
        from metta.common.uri import temp_path_for

        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write the content beside, then hard-link it into place: link() fails if the name
        # exists (exclusive like O_EXCL), and readers never see a half-written claim.
        tmp = temp_path_for(target)  # the shared temp naming: a killed worker's leftover is recognised
        tmp.write_bytes(data)
        try:
            os.link(tmp, target)
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)

    def write(self, path: str, data: bytes) -> None:
        from metta.common.uri import write_output  # temp file + rename: readers never see half of it

        write_output(str(self.root / path), data, "sweep_dir")

    def read(self, path: str) -> bytes | None:
        try:
            return (self.root / path).read_bytes()
        except FileNotFoundError:
            return None

    def list_dirs(self, path: str) -> list[str]:
        folder = self.root / path
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


class S3Backend(Backend):
    def __init__(self, bucket: str, prefix: str):
        from metta.common.uri import make_s3_client

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = make_s3_client()

    def _key(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def create(self, path: str, data: bytes) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(path), Body=data, IfNoneMatch="*")
            return True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise

    def write(self, path: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(path), Body=data)

    def read(self, path: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(path))["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def list_dirs(self, path: str) -> list[str]:
        prefix = self._key(path).rstrip("/") + "/"
        names: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix,
                                                                          Delimiter="/"):
            names += [p["Prefix"][len(prefix):].rstrip("/") for p in page.get("CommonPrefixes", [])]
        return sorted(names)


def make_backend(root: str, sweep_name: str) -> Backend:
    """The backend for `<root>/<sweep_name>`; `root` is a directory, file:// or s3:// prefix."""
    # Checked on `root` itself: once joined as a Path, `gs://b` would read as the directory `gs:/b`.
    if "://" in root and not root.startswith(("s3://", "file://")):
        raise ConfigError(f"sweep_dir: {root}: use a local directory or an s3:// prefix")
    from metta.common.uri import join_destination

    location = join_destination(root, sweep_name)
    if location.startswith("s3://"):
        from metta.common.uri import parse_s3_uri

        bucket, prefix = parse_s3_uri(location)
        return S3Backend(bucket, prefix)
    return LocalBackend(Path(location).expanduser())


@dataclass
class RunRecord:
    run_id: str
    number: int
    claim: dict[str, Any]
    suggestion: dict[str, Any] | None
    observation: dict[str, Any] | None
    heartbeat: float | None
    # The worker process training it, as its heartbeats name it ({"host", "pid"}), if they do.
    beater: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.observation is not None

    @property
    def params(self) -> dict[str, Any]:
        """The values the run used: its observation's, else its suggestion's."""
        return (self.observation or {}).get("params") or (self.suggestion or {}).get("params") or {}

    def stale(self, now: float, timeout: float) -> bool:
        last = self.heartbeat or float(self.claim.get("claimed_at", 0))
        return not self.done and now - last > timeout

    def worker_gone(self) -> bool:
        """Not done, and the worker process its heartbeats name ran on this machine and no
        longer exists (killed, crashed): no need to wait out the heartbeat timeout."""
        from metta.common.uri import pid_alive

        beater = self.beater or {}
        return (not self.done and beater.get("host") == socket.gethostname()
                and isinstance(beater.get("pid"), int) and not pid_alive(beater["pid"]))


class SweepStore:
    def __init__(self, root: str, sweep_name: str):
        self.root, self.sweep_name = root, sweep_name
        self.backend = make_backend(root, sweep_name)

    @property
    def location(self) -> str:
        return f"{self.root.rstrip('/')}/{self.sweep_name}"

    # -- the sweep ------------------------------------------------------------------------------

    def create_sweep(self, config: dict[str, Any]) -> bool:
        """Store the sweep's config; False (and nothing written) if the sweep exists already."""
        import yaml

        return self.backend.create("sweep.yaml", yaml.safe_dump(config, sort_keys=False).encode())

    def sweep_config(self) -> dict[str, Any] | None:
        """The stored config; a file that is not YAML is a one-line ConfigError naming it."""
        data = self.backend.read("sweep.yaml")
        return None if data is None else parse_yaml(data.decode("utf-8", "replace"), f"{self.location}/sweep.yaml")

    # -- runs -----------------------------------------------------------------------------------

    def _json(self, path: str) -> dict[str, Any] | None:
        """A run's record file; one that is not JSON (edited by hand, truncated by a full disk)
        is a one-line ConfigError naming it."""
        data = self.backend.read(path)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError as error:  # JSONDecodeError, or bytes that are not UTF-8
            raise ConfigError(f"{self.location}/{path}: not valid JSON ({error}); fix or delete the file") from None

    def run_id(self, number: int) -> str:
        return f"{self.sweep_name}.r.{number}"

    def claim_next(self, worker: str | None = None) -> str:
        """Claim the lowest unclaimed run number; returns its id. Safe against concurrent workers."""
        worker = worker or default_worker_name()
        number = len(self.backend.list_dirs("runs"))
        while True:
            run_id = self.run_id(number)
            claim = {"run_id": run_id, "worker": worker, "claimed_at": time.time()}
            if self.backend.create(f"runs/{run_id}/claim.json", _json(claim)):
                return run_id
            number += 1

    def write_suggestion(self, run_id: str, suggestion: dict[str, Any]) -> None:
        self.backend.write(f"runs/{run_id}/suggestion.json", _json(suggestion))

    def heartbeat(self, run_id: str, worker_pid: int | None = None) -> None:
        """Say the run is alive. A worker that trains the run gives its pid, so that when it
        dies the next worker on this machine can fail the run at once (`fail_abandoned`)."""
        beat: dict[str, Any] = {"at": time.time()}
        if worker_pid is not None:
            beat.update(host=socket.gethostname(), pid=worker_pid)
        self.backend.write(f"runs/{run_id}/heartbeat.json", _json(beat))

    def record_observation(self, run_id: str, observation: dict[str, Any]) -> bool:
        """Store a run's result once; False if one was recorded already (the first one stands)."""
        return self.backend.create(f"runs/{run_id}/observation.json",
                                   _json({**observation, "recorded_at": time.time()}))

    def run(self, run_id: str) -> RunRecord | None:
        """One run's record; None if `run_id` is not a claimed run of this sweep."""
        number = run_id.removeprefix(f"{self.sweep_name}.r.")
        if number == run_id or not number.isdigit():
            return None
        claim = self._json(f"runs/{run_id}/claim.json")
        if claim is None:
            return None
        beat = self._json(f"runs/{run_id}/heartbeat.json")
        return RunRecord(run_id, int(number), claim, self._json(f"runs/{run_id}/suggestion.json"),
                         self._json(f"runs/{run_id}/observation.json"),
                         float(beat["at"]) if beat else None,
                         {k: beat[k] for k in ("host", "pid") if k in beat} if beat else None)

    def runs(self) -> list[RunRecord]:
        records = [self.run(name) for name in self.backend.list_dirs("runs")]
        return sorted((r for r in records if r is not None), key=lambda r: r.number)

    def fail_abandoned(self, timeout: float = HEARTBEAT_TIMEOUT_S, runs: list[RunRecord] | None = None) -> list[str]:
        """Record runs whose worker stopped (no heartbeat for `timeout` s, or a worker process
        on this machine that no longer exists) as failed.

        `runs` is a listing the caller has just read (saves reading the record again)."""
        now, failed = time.time(), []
        for record in self.runs() if runs is None else runs:
            if record.suggestion is None:
                continue
            if record.worker_gone():
                reason = (f"worker {record.beater['host']}:{record.beater['pid']} is gone (killed or crashed "
                          "while training)")
            elif record.stale(now, timeout):
                reason = f"no heartbeat for {timeout:.0f} s (worker stopped)"
            else:
                continue
            observation = {"params": record.params, "score": None, "cost": None, "failed": True, "reason": reason}
            if self.record_observation(record.run_id, observation):
                failed.append(record.run_id)
        return failed


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True).encode()
