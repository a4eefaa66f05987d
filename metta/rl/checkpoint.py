"""Policy checkpoints: weights plus JSON metadata, never pickled code.

File layout
-----------
`<run>:v<epoch>.pt` is a `torch.save` of

    {"format": "metta.policy/1",
     "state_dict": {name: CPU tensor},
     "metadata_json": "<json text>"}

and is read back with `torch.load(weights_only=True)`, so loading a checkpoint can never run
code; the policy is rebuilt from the metadata (`make_policy(architecture, env_info)`) and
then receives the weights with `strict=True`. Beside it, `<run>:v<epoch>.json` (see
`sidecar_path`) repeats the metadata so that selectors can rank checkpoints (locally or on
S3) without reading the weights. The sidecar is only a cache: the `.pt` is authoritative.

Metadata keys (`save_policy` fills the ones marked *, the caller gives the rest; extra keys
are kept as they are):

    format*       "metta.policy/1"
    run           run name                      epoch          training epoch (int)
    agent_steps   agent steps so far (int)      created_at*    ISO 8601 UTC time
    architecture* the policy's architecture config, `policy.architecture.model_dump()`
    env_info*     `policy.env_info.to_dict()`: what the policy needs to be rebuilt
    score         float or null: the number `top` ranks by default
    eval_scores   {eval name: float}

Every write goes to a temporary file in the same directory, is flushed and fsynced, then
renamed over the target with `os.replace`: a reader (or a crash) sees the old file or the
new one, never a partial one.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from torch import nn

from metta.common.s3 import first_line

FORMAT = "metta.policy/1"
TRAINER_STATE_FORMAT = "metta.trainer_state/1"
TRAINER_STATE_FILE = "trainer_state.pt"

_NAME_RE = re.compile(r"^(?P<run>.+):v(?P<epoch>\d+)\.pt$")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message is one line naming the file."""


# ---------------------------------------------------------------------------------------------
# names


def checkpoint_name(run: str, epoch: int) -> str:
    return f"{run}:v{int(epoch)}.pt"


def parse_checkpoint_name(name: str) -> tuple[str, int] | None:
    """`"my_run:v12.pt"` (or a path ending in it) -> ("my_run", 12); anything else -> None."""
    match = _NAME_RE.match(Path(name).name)
    return (match["run"], int(match["epoch"])) if match else None


def sidecar_path(path: str | Path) -> Path:
    """`.../run:v3.pt` -> `.../run:v3.json`, the metadata-only copy."""
    return Path(path).with_suffix(".json")


# ---------------------------------------------------------------------------------------------
# atomic writes


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Run `write(file)` into a temp file beside `path`, fsync it, then rename it into place.

    The temp file lives in the same directory because a rename is only atomic within one
    filesystem; its name (`.<name>.<random>.tmp`) matches no checkpoint pattern, so a
    listing never picks it up. On any failure it is removed and `path` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # os.open with 0o666 honours the umask, unlike mkstemp's private 0o600.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; some platforms cannot open directories.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_json(path: Path, data: dict) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n"
    atomic_write(path, lambda file: file.write(text.encode("utf-8")))


def _json_default(value: Any) -> Any:
    # numpy / torch scalars and arrays sneak into metric dicts; paths into configs.
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"checkpoint metadata value of type {type(value).__name__} is not JSON-serialisable")


# ---------------------------------------------------------------------------------------------
# policies


def save_policy(path: str | Path, policy: nn.Module, metadata: dict[str, Any]) -> None:
    """Write the weights and metadata of `policy` to `path`, then the JSON sidecar (both atomic).

    Order: drop any old sidecar, write the `.pt`, write the new sidecar. A crash in between
    leaves a `.pt` without sidecar (readers then use the metadata inside the `.pt`), never a
    sidecar that describes other weights.
    """
    path = Path(path)
    full = _complete_metadata(path, policy, metadata)
    metadata_json = json.dumps(full, default=_json_default)
    state_dict = {
        key: value.detach().cpu() if isinstance(value, torch.Tensor) else value
        for key, value in policy.state_dict().items()
    }
    payload = {"format": FORMAT, "state_dict": state_dict, "metadata_json": metadata_json}
    sidecar_path(path).unlink(missing_ok=True)
    atomic_write(path, lambda file: torch.save(payload, file))
    _write_json(sidecar_path(path), json.loads(metadata_json))


def _complete_metadata(path: Path, policy: nn.Module, metadata: dict[str, Any]) -> dict[str, Any]:
    full: dict[str, Any] = {"score": None, "eval_scores": {}}
    parsed = parse_checkpoint_name(path.name)
    if parsed:
        full["run"], full["epoch"] = parsed
    architecture = getattr(policy, "architecture", None)
    if architecture is not None:
        full["architecture"] = (
            architecture.model_dump(mode="json")
            if hasattr(architecture, "model_dump")
            else dict(architecture)
        )
    env_info = getattr(policy, "env_info", None)
    if env_info is not None:
        full["env_info"] = env_info.to_dict() if hasattr(env_info, "to_dict") else dict(env_info)
    full.update(metadata)
    full["format"] = FORMAT
    full.setdefault("created_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    for key in ("architecture", "env_info"):
        if not isinstance(full.get(key), dict):
            raise ValueError(
                f"{path}: cannot save a policy without '{key}' (give it in metadata or on the policy)"
            )
    return full


def load_policy(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the policy saved at `path` on `device`; `policy.checkpoint_metadata` holds its metadata."""
    path = Path(path)
    payload = _read_payload(path, device)
    metadata = payload["metadata"]
    try:
        policy = _build_policy(metadata["architecture"], metadata["env_info"]).to(device)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(
            f"{path}: cannot rebuild the policy from its metadata ({first_line(error)})"
        ) from None
    try:
        policy.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as error:
        raise CheckpointError(
            f"{path}: weights do not fit the architecture in its metadata ({first_line(error)})"
        ) from None
    # An instance attribute: it shadows anything of that name on the class for this object.
    policy.checkpoint_metadata = metadata
    return policy


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata of a checkpoint: from its sidecar when that is readable, else from the `.pt`."""
    path = Path(path)
    side = sidecar_path(path)
    if side.is_file():
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(side.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("format") == FORMAT:
                return data
    return _read_payload(path, "cpu", mmap=True)["metadata"]


def _build_policy(architecture: dict[str, Any], env_info: dict[str, Any]) -> nn.Module:
    # Imported here so that this module (and the policy store's listing) works before and
    # without the agent package; tests replace this function with a stand-in.
    from metta.agent.env_info import PolicyEnvInfo
    from metta.agent.policy import make_policy

    return make_policy(architecture, PolicyEnvInfo.from_dict(env_info))


def _read_payload(path: Path, device: str | torch.device, mmap: bool = False) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        # mmap avoids reading every tensor when only the metadata is wanted.
        payload = torch.load(path, map_location=device, weights_only=True, mmap=mmap)
    except Exception as error:  # noqa: BLE001  (torch raises RuntimeError, UnpicklingError, EOFError, ...)
        raise CheckpointError(
            f"{path}: not a readable checkpoint (corrupt, truncated or pickled code: {first_line(error)})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: not a {FORMAT} checkpoint (format: {found!r})")
    try:
        metadata = json.loads(payload["metadata_json"])
        assert isinstance(metadata, dict) and isinstance(payload["state_dict"], dict)
    except (KeyError, TypeError, ValueError, AssertionError):
        raise CheckpointError(f"{path}: {FORMAT} checkpoint with missing or malformed metadata") from None
    return {"state_dict": payload["state_dict"], "metadata": metadata}


# ---------------------------------------------------------------------------------------------
# RNG state, in forms that torch.load(weights_only=True) accepts


def capture_rng_state() -> dict[str, Any]:
    """Python, numpy and torch RNG states as tensors, lists, ints, floats and strings."""
    py_version, py_internal, py_gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": {"version": py_version, "internal": list(py_internal), "gauss_next": py_gauss},
        # uint32 keys widen to int64 because torch's uint32 support is partial.
        "numpy": {
            "bit_generator": str(np_name),
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "cached_gaussian": float(np_gauss),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["torch_cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))
    npy = state["numpy"]
    np.random.set_state(
        (
            npy["bit_generator"],
            npy["keys"].numpy().astype(np.uint32),
            npy["pos"],
            npy["has_gauss"],
            npy["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"].cpu())
    if "torch_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["torch_cuda"]])


# ---------------------------------------------------------------------------------------------
# one run's checkpoints


class CheckpointManager:
    """Checkpoints of one run under `run_dir/checkpoints/`, plus the trainer state to resume.

    Write order (so that a crash at any moment leaves something consistent to resume from):
      1. `save()` writes `<run>:v<epoch>.pt` atomically, then its sidecar;
      2. `save_trainer_state()` then writes `trainer_state.pt` (atomically), whose `epoch`
         names that checkpoint.
    The trainer state therefore only ever points at a checkpoint that is fully on disk. To
    resume, load the trainer state and the policy at `path_for(state["epoch"])`; a newer
    checkpoint than that (a crash between steps 1 and 2) is simply overwritten later. With
    no trainer state yet, resume from `latest()` with a fresh optimizer.
    """

    def __init__(self, run: str, run_dir: str | Path):
        self.run = run
        self.run_dir = Path(run_dir)
        self.checkpoint_dir = self.run_dir / "checkpoints"
        self.trainer_state_path = self.checkpoint_dir / TRAINER_STATE_FILE

    def path_for(self, epoch: int) -> Path:
        return self.checkpoint_dir / checkpoint_name(self.run, epoch)

    def save(
        self, policy: nn.Module, epoch: int, agent_steps: int, extra_metadata: dict[str, Any] | None = None
    ) -> Path:
        path = self.path_for(epoch)
        metadata = {
            **(extra_metadata or {}),
            "run": self.run,
            "epoch": int(epoch),
            "agent_steps": int(agent_steps),
        }
        save_policy(path, policy, metadata)
        return path

    def checkpoints(self) -> list[tuple[int, Path]]:
        """This run's checkpoints as (epoch, path), oldest first."""
        if not self.checkpoint_dir.is_dir():
            return []
        found = []
        for path in self.checkpoint_dir.glob("*.pt"):
            parsed = parse_checkpoint_name(path.name)
            if parsed and parsed[0] == self.run:
                found.append((parsed[1], path))
        return sorted(found)

    def latest(self) -> Path | None:
        found = self.checkpoints()
        return found[-1][1] if found else None

    def save_trainer_state(self, state: dict[str, Any]) -> Path:
        """Write `state` (optimizer state dict, epoch, agent_steps, ...) plus RNG states.

        RNG states are captured here unless `state` already has "rng". Call this after
        `save()` for the same epoch (see the class docstring).
        """
        if "epoch" not in state:
            raise ValueError("trainer state needs an 'epoch' (the checkpoint it goes with)")
        full = {"format": TRAINER_STATE_FORMAT, **state}
        full.setdefault("rng", capture_rng_state())
        atomic_write(self.trainer_state_path, lambda file: torch.save(full, file))
        return self.trainer_state_path

    def load_trainer_state(self) -> dict[str, Any] | None:
        """The saved trainer state (on CPU), or None when there is none yet. Does not touch RNGs:
        call `restore_rng_state(state["rng"])` when resuming."""
        path = self.trainer_state_path
        if not path.is_file():
            return None
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001  (as in _read_payload)
            raise CheckpointError(f"{path}: unreadable trainer state ({first_line(error)})") from None
        if not isinstance(state, dict) or state.get("format") != TRAINER_STATE_FORMAT:
            raise CheckpointError(f"{path}: not a {TRAINER_STATE_FORMAT} file")
        return state

    def prune(self, keep_last: int) -> list[Path]:
        """Delete all but the newest `keep_last` checkpoints (and sidecars); returns what went.

        The checkpoint the trainer state points at is always kept, so resuming stays possible.
        """
        if keep_last < 1:
            raise ValueError("keep_last must be at least 1")
        protected = None
        with contextlib.suppress(CheckpointError):
            state = self.load_trainer_state()
            protected = state.get("epoch") if state else None
        removed = []
        for epoch, path in self.checkpoints()[:-keep_last]:
            if epoch == protected:
                continue
            path.unlink(missing_ok=True)
            sidecar_path(path).unlink(missing_ok=True)
            removed.append(path)
        return removed
