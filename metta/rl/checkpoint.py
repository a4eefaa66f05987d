"""One run's checkpoints (`CheckpointManager`) and the trainer state that resumes it.

Policy files themselves (`<run>:v<epoch>.pt` plus the JSON sidecar) are written and read by
`metta.agent.policy_file`; this module adds what only training needs: the list of a run's
checkpoints, pruning, and `trainer_state.pt` (optimizer state, epoch, agent steps and RNG
states, in forms `torch.load(weights_only=True)` accepts). Every write is atomic.
"""

from __future__ import annotations

import contextlib
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from metta.agent.policy_file import (
    CheckpointError,
    checkpoint_name,
    parse_checkpoint_name,
    save_policy,
    sidecar_path,
)
from metta.common.uri import atomic_write, first_line

TRAINER_STATE_FORMAT = "metta.trainer_state/1"
TRAINER_STATE_FILE = "trainer_state.pt"


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
    no trainer state yet, resume from `latest()` with a fresh optimizer. When a file does
    not load, `resume_order` gives the next ones to try and `set_aside` moves the bad one
    out of the way (the Trainer's `_resume_from_checkpoints`).
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
        if not all(isinstance(state.get(key), int) and state[key] >= 0 for key in ("epoch", "agent_steps")):
            raise CheckpointError(f"{path}: trainer state without a valid epoch and agent_steps")
        return state

    def resume_order(self, state: dict[str, Any] | None) -> list[tuple[int, Path]]:
        """The checkpoints to try when resuming, best first: the one the trainer state names
        (when it is on disk), then every other one, newest first. The caller loads them in
        this order and keeps the first that loads, so one bad file never stops a run that
        has a good one."""
        found = self.checkpoints()
        named = int(state["epoch"]) if state is not None else None
        first = [(epoch, path) for epoch, path in found if epoch == named]
        return first + [(epoch, path) for epoch, path in reversed(found) if epoch != named]

    def set_aside(self, path: Path) -> Path:
        """Rename an unusable checkpoint to `<name>.unusable` (and drop its sidecar, which
        describes it), so that listings, `latest` and pruning stop picking it; the bytes are
        kept for whoever wants to look at them."""
        target = path.with_name(path.name + ".unusable")
        os.replace(path, target)
        sidecar_path(path).unlink(missing_ok=True)
        return target

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
