"""Find, rank and load policy checkpoints addressed by URI.

URIs
    /abs/or/relative/path, file:///abs/path, file://./relative/path
        a checkpoint file (any name), or a directory: its `<run>:v<epoch>.pt` files plus
        those of `<dir>/checkpoints/` (so a run directory works as well)
    s3://bucket/key.pt                 one checkpoint
    s3://bucket/prefix/                `<run>:v<epoch>.pt` objects directly under the prefix
                                       and under `prefix/checkpoints/`
    wandb://run/<run_id>               a run trained on this machine: `<train_dir>/<run_id>`'s
                                       checkpoints when that directory exists (wandb is not
                                       asked); otherwise the newest `model` artifact logged by
                                       that run, in $WANDB_ENTITY/$WANDB_PROJECT (Metta uses the
                                       run name as the wandb run id)
    wandb://<entity>/<project>/<artifact>:<version>
                                       one artifact version (":latest" when omitted)
    wandb://sweep/<sweep_name>:best    the checkpoint of a sweep's best run (or `:latest`), read
                                       from the sweep's record (metta/agent/sweep_record.py)
    <any of the above>/<run>:v<n>.mpt  the original's later suffix: names <run>:v<n>.pt here

Selectors: `latest` (highest epoch), `top` (highest metadata[metric], falling back to
metadata["eval_scores"][metric]; checkpoints without it are skipped), `all` (by epoch,
oldest first). Ranking reads only the JSON sidecars when they exist; weights are fetched
(remote ones into the cache) when a record is loaded.

Every failure is a one-line `PolicyStoreError` (or `CheckpointError` for a bad file) that
names the URI.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import torch
from torch import nn

from metta.agent.policy_file import FORMAT, load_policy, parse_checkpoint_name, read_metadata, sidecar_path
from metta.agent.sweep_record import PREFIX as SWEEP_PREFIX
from metta.agent.sweep_record import SweepRecordError, sweep_checkpoint
from metta.common.uri import (
    download_file,
    first_line,
    local_path,
    make_s3_client,
    parse_s3_uri,
    s3_error_message,
    s3_errors,
    uri_scheme,
)

SELECTORS = ("latest", "top", "all")


class PolicyStoreError(ValueError):
    """A URI that cannot be resolved; the message is one line naming the URI."""


@dataclass
class PolicyRecord:
    uri: str
    name: str  # e.g. "my_run:v12"
    run: str | None
    epoch: int | None
    metadata: dict[str, Any]
    _fetch: Callable[[], Path] = field(repr=False, compare=False)

    def local_path(self) -> Path:
        """The checkpoint on local disk, downloaded into the cache first when remote."""
        return self._fetch()

    def load(self, device: str | torch.device = "cpu") -> nn.Module:
        return load_policy(self._fetch(), device)


class _Candidate:
    """A checkpoint found by a listing; metadata is read only when a selector needs it."""

    def __init__(self, uri: str, filename: str, read_meta: Callable[[], dict], fetch: Callable[[], Path]):
        self.uri, self._read_meta, self.fetch = uri, read_meta, fetch
        parsed = parse_checkpoint_name(filename)
        self.run, self.epoch = parsed if parsed else (None, None)
        self.stem = filename.removesuffix(".pt")
        self._meta: dict | None = None

    @property
    def metadata(self) -> dict:
        if self._meta is None:
            self._meta = self._read_meta()
        return self._meta

    def sort_epoch(self) -> int:
        if self.epoch is None:  # a file named outside the convention: ask its metadata
            epoch = self.metadata.get("epoch")
            self.epoch = epoch if isinstance(epoch, int) else -1
            self.run = self.run or self.metadata.get("run")
        return self.epoch

    def record(self) -> PolicyRecord:
        self.sort_epoch()
        epoch = self.epoch if self.epoch is not None and self.epoch >= 0 else None
        name = f"{self.run}:v{epoch}" if self.run and epoch is not None else self.stem
        return PolicyRecord(self.uri, name, self.run, epoch, self.metadata, self.fetch)


class PolicyStore:
    def __init__(self, cache_dir: str | Path | None = None, train_dir: str | Path = "train_dir"):
        default = os.environ.get("METTA_CACHE_DIR") or Path.home() / ".cache" / "metta" / "policies"
        self.cache_dir = Path(cache_dir if cache_dir is not None else default).expanduser()
        self.train_dir = Path(train_dir).expanduser()  # where wandb://run/<run> looks first

    # -- public ---------------------------------------------------------------------------------

    def records(
        self, uri: str, selector: str = "latest", metric: str = "score", n: int | None = None
    ) -> list[PolicyRecord]:
        """Checkpoints at `uri` chosen by `selector`. `n` caps `top` (default 1) and `all`
        (default: every one; with n, the newest n, still oldest first); `latest` gives one."""
        if selector not in SELECTORS:
            raise PolicyStoreError(
                f"{uri}: unknown selector {selector!r} (use one of {', '.join(SELECTORS)})"
            )
        if n is not None and n < 1:
            raise PolicyStoreError(f"{uri}: n must be at least 1, got {n}")
        candidates = self._candidates(uri)
        if not candidates:
            raise PolicyStoreError(f"{uri}: no checkpoints found")
        with s3_errors(uri, error_type=PolicyStoreError):
            chosen = _select(candidates, selector, metric, n, uri)
            return [candidate.record() for candidate in chosen]

    def upload(self, local_path: str | Path, s3_uri: str) -> str:
        """Copy a checkpoint and its sidecar to S3; a URI ending in "/" keeps the file name.

        The sidecar goes first so that a listed `.pt` has its metadata beside it (a stray
        sidecar without weights is ignored by listings). Returns the checkpoint's s3:// URI.
        """
        local = Path(local_path)
        if not local.is_file():
            raise PolicyStoreError(f"{local}: no such file to upload")
        bucket, key = self._parse_s3(s3_uri)
        if key == "" or key.endswith("/"):
            key += local.name
        with s3_errors(s3_uri, error_type=PolicyStoreError):
            client = make_s3_client()
            side = sidecar_path(local)
            if side.is_file():
                client.upload_file(str(side), bucket, _sidecar_key(key))
            client.upload_file(str(local), bucket, key)
        return f"s3://{bucket}/{key}"

    # -- resolution -----------------------------------------------------------------------------

    def _candidates(self, uri: str) -> list[_Candidate]:
        found = self._candidates_at(uri)
        if not found and uri.endswith(".mpt"):  # the original's later suffix; checkpoints here are .pt
            found = self._candidates_at(uri.removesuffix(".mpt") + ".pt")
        return found

    def _candidates_at(self, uri: str) -> list[_Candidate]:
        scheme = uri_scheme(uri)
        if scheme == "file":
            return _local_candidates(local_path(uri), uri_override=None)
        if scheme == "s3":
            return self._s3_candidates(uri)
        if scheme == "wandb":
            return self._wandb_candidates(uri)
        raise PolicyStoreError(f"{uri}: unknown URI scheme {scheme!r} (use file://, s3:// or wandb://)")

    def _parse_s3(self, uri: str) -> tuple[str, str]:
        try:
            return parse_s3_uri(uri)
        except ValueError as error:
            raise PolicyStoreError(str(error)) from None

    def _s3_candidates(self, uri: str) -> list[_Candidate]:
        bucket, key = self._parse_s3(uri)
        with s3_errors(uri, error_type=PolicyStoreError):
            client = make_s3_client()
            if key.endswith(".pt"):
                try:
                    size = client.head_object(Bucket=bucket, Key=key)["ContentLength"]
                except Exception as error:
                    if s3_error_message(error) == "S3 object not found":
                        return []
                    raise
                return [self._s3_candidate(client, bucket, key, size, sidecar=None)]
            prefix = key if key == "" or key.endswith("/") else key + "/"
            objects: dict[str, int] = {}
            for listed_prefix in (prefix, prefix + "checkpoints/"):
                pages = client.get_paginator("list_objects_v2").paginate(
                    Bucket=bucket, Prefix=listed_prefix, Delimiter="/"
                )
                for page in pages:
                    objects.update({obj["Key"]: obj["Size"] for obj in page.get("Contents", [])})
        return [
            self._s3_candidate(client, bucket, k, size, sidecar=_sidecar_key(k) in objects)
            for k, size in objects.items()
            if parse_checkpoint_name(PurePosixPath(k).name)
        ]

    def _s3_candidate(
        self, client: Any, bucket: str, key: str, size: int, sidecar: bool | None
    ) -> _Candidate:
        """`sidecar`: whether the listing showed one (None: unknown, try it)."""
        uri = f"s3://{bucket}/{key}"

        def fetch() -> Path:
            with s3_errors(uri, error_type=PolicyStoreError):
                return self._download_s3(client, bucket, key, size)

        def read_meta() -> dict:
            if sidecar is not False:
                with s3_errors(uri, error_type=PolicyStoreError), contextlib.suppress(ValueError):
                    try:
                        body = client.get_object(Bucket=bucket, Key=_sidecar_key(key))["Body"].read()
                    except Exception as error:
                        if s3_error_message(error) != "S3 object not found":
                            raise
                    else:
                        data = json.loads(body)
                        if isinstance(data, dict) and data.get("format") == FORMAT:
                            return data
            return read_metadata(fetch())

        return _Candidate(uri, PurePosixPath(key).name, read_meta, fetch)

    def _download_s3(self, client: Any, bucket: str, key: str, size: int) -> Path:
        root = (self.cache_dir / "s3" / bucket).resolve()
        dest = (root / key).resolve()
        if root not in dest.parents:  # a key with ".." must not write outside the cache
            raise PolicyStoreError(f"s3://{bucket}/{key}: key escapes the cache directory")
        # Checkpoint names are immutable per (run, epoch) in practice; the size guards
        # against a stale or truncated cache entry.
        if dest.is_file() and dest.stat().st_size == size:
            return dest
        return download_file(bucket, key, dest, client)

    def local_run_dir(self, uri: str) -> Path | None:
        """The directory of a `wandb://run/<run>` trained here (`<train_dir>/<run>`), if any."""
        run = parse_wandb_run_name(uri)
        if run is None or run in (".", ".."):
            return None
        run_dir = self.train_dir / run
        return run_dir if run_dir.is_dir() else None

    def _wandb_candidates(self, uri: str) -> list[_Candidate]:
        if uri.startswith(SWEEP_PREFIX):
            try:
                return self._candidates(sweep_checkpoint(uri))
            except SweepRecordError as error:
                raise PolicyStoreError(str(error)) from None
        run_dir = self.local_run_dir(uri)
        if run_dir is not None:
            return _local_candidates(run_dir, uri_override=None)
        try:
            return self._wandb_artifact_candidates(uri)
        except PolicyStoreError as error:
            local = parse_wandb_run_name(uri)
            hint = (f"; no local run at {self.train_dir / local} either (a run trained here is found there; "
                    "train_dir= names its parent)" if local else
                    "; for a checkpoint on this machine give file://PATH or a path instead")
            raise PolicyStoreError(str(error) + hint) from None

    def _wandb_artifact_candidates(self, uri: str) -> list[_Candidate]:
        ref = parse_wandb_uri(uri)
        mode = os.environ.get("WANDB_MODE", "").lower()
        if mode in ("offline", "disabled", "dryrun"):
            raise PolicyStoreError(
                f"{uri}: WANDB_MODE={mode}, but wandb:// URIs need network access and credentials "
                "(unset WANDB_MODE and run `wandb login` or set WANDB_API_KEY)"
            )
        try:
            import wandb
        except ImportError:
            raise PolicyStoreError(
                f"{uri}: wandb:// URIs need the wandb package (pip install wandb)"
            ) from None
        try:
            api = wandb.Api()
            if ref.run is not None:
                run = api.run(f"{ref.entity}/{ref.project}/{ref.run}")
                models = [a for a in run.logged_artifacts() if a.type == "model"]
                if not models:
                    raise PolicyStoreError(f"{uri}: run {ref.run} has logged no model artifacts")
                artifact = max(models, key=lambda a: _version_number(a.version))
            else:
                artifact = api.artifact(f"{ref.entity}/{ref.project}/{ref.artifact}:{ref.version}")
            name, _, version = artifact.name.partition(":")
            version = version or artifact.version
            root = self.cache_dir / "wandb" / ref.entity / ref.project / name / version
            artifact.download(root=str(root))
        except PolicyStoreError:
            raise
        except Exception as error:  # noqa: BLE001  (wandb raises many types; all mean "unreachable")
            raise PolicyStoreError(
                f"{uri}: could not fetch from wandb ({first_line(error)}); wandb:// URIs need network "
                "access and credentials (`wandb login` or WANDB_API_KEY)"
            ) from None
        artifact_uri = f"wandb://{ref.entity}/{ref.project}/{name}:{version}"
        return _local_candidates(root, uri_override=artifact_uri, any_name=True)


# ---------------------------------------------------------------------------------------------
# helpers


@dataclass(frozen=True)
class WandbRef:
    entity: str
    project: str
    run: str | None = None  # set for wandb://run/<run_id>
    artifact: str | None = None  # set for wandb://entity/project/artifact:version
    version: str = "latest"


def parse_wandb_run_name(uri: str) -> str | None:
    """`wandb://run/<run>` -> "<run>"; None for any other URI."""
    parts = uri[len("wandb://") :].strip("/").split("/") if uri.startswith("wandb://") else []
    return parts[1] if len(parts) == 2 and parts[0] == "run" and parts[1] else None


def parse_wandb_uri(uri: str) -> WandbRef:
    if not uri.startswith("wandb://"):
        raise PolicyStoreError(f"{uri}: not a wandb:// URI")
    parts = uri[len("wandb://") :].strip("/").split("/")
    if len(parts) == 2 and parts[0] == "run" and parts[1]:
        entity, project = os.environ.get("WANDB_ENTITY"), os.environ.get("WANDB_PROJECT")
        if not entity or not project:
            raise PolicyStoreError(f"{uri}: set WANDB_ENTITY and WANDB_PROJECT to resolve wandb://run/<run>")
        return WandbRef(entity, project, run=parts[1])
    if len(parts) == 3 and all(parts):
        artifact, _, version = parts[2].partition(":")
        if artifact:
            return WandbRef(parts[0], parts[1], artifact=artifact, version=version or "latest")
    raise PolicyStoreError(
        f"{uri}: malformed wandb URI (use wandb://run/<run> or wandb://<entity>/<project>/<artifact>:<version>)"
    )


def _version_number(version: str) -> int:
    return int(version[1:]) if re.fullmatch(r"v\d+", version or "") else -1


def _local_candidates(path: Path, uri_override: str | None, any_name: bool = False) -> list[_Candidate]:
    """A file is taken whatever its name; in directories only `<run>:v<epoch>.pt` files count
    (so `trainer_state.pt` and other stray `.pt` files are never mistaken for policies)."""

    def candidate(file: Path) -> _Candidate:
        file = file.absolute()
        return _Candidate(
            uri_override or f"file://{file}", file.name, lambda: read_metadata(file), lambda: file
        )

    if path.is_file():
        return [candidate(path)]
    if not path.is_dir():
        return []
    if any_name:  # a downloaded artifact: every .pt in it, at any depth
        files = [f for f in sorted(path.rglob("*.pt")) if not f.name.startswith(".")]
    else:
        files = [
            f
            for d in (path, path / "checkpoints")
            if d.is_dir()
            for f in sorted(d.glob("*.pt"))
            if parse_checkpoint_name(f.name)
        ]
    return [candidate(f) for f in files]


def _sidecar_key(key: str) -> str:
    return str(PurePosixPath(key).with_suffix(".json"))


def _metric_value(metadata: dict, metric: str) -> float | None:
    value = metadata.get(metric)
    if value is None and isinstance(metadata.get("eval_scores"), dict):
        value = metadata["eval_scores"].get(metric)
    usable = isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)
    return float(value) if usable else None


def _was_evaluated(metadata: dict) -> bool:
    return metadata.get("score") is not None or bool(metadata.get("eval_scores"))


def _select(
    candidates: list[_Candidate], selector: str, metric: str, n: int | None, uri: str
) -> list[_Candidate]:
    by_epoch = sorted(candidates, key=lambda c: (c.sort_epoch(), c.uri))
    if selector == "latest":
        return by_epoch[-1:]
    if selector == "all":
        return by_epoch if n is None else by_epoch[-n:]
    scored = [(value, c) for c in by_epoch if (value := _metric_value(c.metadata, metric)) is not None]
    if not scored and not any(_was_evaluated(c.metadata) for c in by_epoch):
        # a run trained without evaluations (sim=null): nothing ranks, so the newest, said so
        print(f"{uri}: no checkpoint was evaluated, so none has {metric!r} to rank by; taking the newest",
              file=sys.stderr)
        return by_epoch[-(n or 1):]
    if not scored:
        raise PolicyStoreError(f"{uri}: no checkpoint has metric {metric!r} to rank by")
    scored.sort(key=lambda pair: (pair[0], pair[1].sort_epoch()), reverse=True)  # ties: newer first
    return [c for _, c in scored[: n or 1]]


def load_policy_from_uri(
    uri: str, selector: str = "latest", metric: str = "score", device: str | torch.device = "cpu"
) -> nn.Module:
    """Load the one policy `selector` picks at `uri` (for `all`, the newest)."""
    return PolicyStore().records(uri, selector=selector, metric=metric, n=1)[0].load(device)
