"""Runs under an s3:// train dir, mirrored into a local directory so RunStore reads them
like any other run directory.

Only what the pages need is fetched: each run's metrics.jsonl, config.yaml and
heartbeat.json, its checkpoints' sidecars (`checkpoints/*.json`: epoch, steps, score) and its
replays. Weights stay in the bucket: an evaluation reads a checkpoint by its s3:// URI
(runs.py gives remote checkpoints that path). One LIST per prefix per poll gives every object's size and ETag; an object
whose (ETag, size) is unchanged is not fetched again, and a metrics.jsonl that grew is
fetched from its old size on with a ranged GET (training only appends to it). Polls closer
together than `min_poll_s` reuse the last listing, so many browser tabs cost one LIST.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from metta.common.uri import download_file, first_line, make_s3_client, parse_s3_uri, s3_error_message
from metta.rl.heartbeat import FILE as HEARTBEAT

METRICS = "metrics.jsonl"
FILES = (METRICS, "config.yaml", HEARTBEAT)
CHECKPOINTS, REPLAYS = "checkpoints", "replays"
MIN_POLL_S = 2.0


class S3RunMirror:
    """`s3://bucket/prefix/<run>/<file>` -> `<root>/<run>/<file>`."""

    def __init__(self, uri: str, root: Path, min_poll_s: float = MIN_POLL_S):
        self.uri = uri
        self.bucket, key = parse_s3_uri(uri)
        self.prefix = key.strip("/") + "/" if key.strip("/") else ""
        self.root = root
        self.min_poll_s = min_poll_s
        self.error = ""  # the last failure, one line ("" when the last poll worked)
        self.gets = 0  # GET requests made, and the bytes they returned (the tests read these)
        self.bytes_fetched = 0
        self._held: dict[str, tuple[str, int]] = {}  # key -> (ETag, size) of what the mirror holds
        self._last_poll = float("-inf")
        self._client: Any = None

    def sync(self) -> None:
        now = time.monotonic()
        if now - self._last_poll < self.min_poll_s:
            return
        self._last_poll = now
        try:
            self._client = self._client or make_s3_client()
            listed = self._list()
            for key, (etag, size, mtime) in listed.items():
                if self._held.get(key) != (etag, size):
                    self._fetch(key, etag, size, mtime)
            for key in set(self._held) - set(listed):  # deleted in the bucket: drop it here too
                self._local(key).unlink(missing_ok=True)
                del self._held[key]
            self.error = ""
        except Exception as error:  # keep serving the last mirror; the runs list shows why it is stale
            message = s3_error_message(error)
            if message is None and not isinstance(error, OSError):
                raise
            self.error = f"{self.uri}: {message or first_line(error)}"

    def _list(self) -> dict[str, tuple[str, int, float]]:
        found = {}
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                if mirrored(obj["Key"][len(self.prefix):]):
                    found[obj["Key"]] = (obj["ETag"], obj["Size"], obj["LastModified"].timestamp())
        return found

    def _local(self, key: str) -> Path:
        return self.root / key[len(self.prefix):]

    def _fetch(self, key: str, etag: str, size: int, mtime: float) -> None:
        local = self._local(key)
        have = local.stat().st_size if local.is_file() else 0
        if key.endswith("/" + METRICS) and 0 < have < size and self._append_tail(key, local, have):
            pass
        else:
            download_file(self.bucket, key, local, self._client)
            self.gets += 1
            self.bytes_fetched += size
        os.utime(local, (mtime, mtime))  # a run without a heartbeat is judged by this file's age
        self._held[key] = (etag, size)

    def _append_tail(self, key: str, local: Path, have: int) -> bool:
        """Append the bytes after `have`; False when the object does not extend the local copy
        (its byte before the tail differs: it was rewritten, not appended to)."""
        body = self._client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={have - 1}-")["Body"].read()
        self.gets += 1
        self.bytes_fetched += len(body)
        with open(local, "rb") as file:
            file.seek(have - 1)
            if file.read(1) != body[:1]:
                return False
        with open(local, "ab") as file:  # RunStore reads whole lines only, so a half-done append is harmless
            file.write(body[1:])
        return True


def mirrored(relative_key: str) -> bool:
    """Whether `<run>/<...>` is copied: the run's own files, checkpoint sidecars and replays
    (never weights, the trainer state or another writer's temp files)."""
    parts = relative_key.split("/")
    if len(parts) == 2:
        return bool(parts[0]) and parts[1] in FILES
    if len(parts) != 3 or not parts[0] or not parts[2] or parts[2].startswith("."):
        return False
    if parts[1] == CHECKPOINTS:
        return parts[2].endswith(".json")
    return parts[1] == REPLAYS and parts[2].endswith((".json", ".json.z"))


def mirror_root(cache_dir: Path, uri: str) -> Path:
    bucket, key = parse_s3_uri(uri)
    return cache_dir / bucket / key.strip("/")

