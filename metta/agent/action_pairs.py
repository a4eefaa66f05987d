"""The flat action space: one categorical over every valid (action, arg) pair.

MettaGrid takes `(action_id, arg)` per agent, and each action has its own arg range
(`noop` 0, `rotate` 0..3, `attack` 0..8, ...). A policy samples a single *pair index* from
`num_pairs` choices instead, so it can never send an out-of-range arg. Pairs are laid out
action by action, args ascending: pair index = `offsets[action_id] + arg`.

Conversions take and return numpy arrays or torch tensors (on the tensor's device), any
leading shape, without Python loops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import torch

Array = TypeVar("Array", np.ndarray, torch.Tensor)


class ActionPairs:
    """Pair index <-> (action_id, arg) for one action list."""

    def __init__(self, action_names: Sequence[str], action_max_args: Sequence[int]):
        if len(action_names) != len(action_max_args):
            raise ValueError(f"{len(action_names)} action names but {len(action_max_args)} max args")
        self.action_names = tuple(action_names)
        self.action_max_args = tuple(int(arg) for arg in action_max_args)
        counts = np.asarray(self.action_max_args, dtype=np.int64) + 1
        self.num_actions = len(self.action_names)
        self.num_pairs = int(counts.sum())
        # offsets[a] = index of (a, 0); the table row of a pair is its (action_id, arg).
        self.offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        action_ids = np.repeat(np.arange(self.num_actions, dtype=np.int32), counts)
        args = np.arange(self.num_pairs, dtype=np.int32) - self.offsets[action_ids].astype(np.int32)
        self.table = np.stack([action_ids, args], axis=1)  # (num_pairs, 2) int32
        self.names = tuple(f"{self.action_names[a]}_{arg}" for a, arg in self.table.tolist())
        self._torch_tables: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    @classmethod
    def from_env_info(cls, info) -> ActionPairs:
        return cls(info.action_names, info.action_max_args)

    def __len__(self) -> int:
        return self.num_pairs

    def __repr__(self) -> str:
        return f"ActionPairs({self.num_pairs} pairs over {list(self.action_names)})"

    def index(self, action_name: str, arg: int = 0) -> int:
        """The pair index of one named (action, arg)."""
        if action_name not in self.action_names:
            raise KeyError(f"unknown action {action_name!r}; known: {', '.join(self.action_names)}")
        action_id = self.action_names.index(action_name)
        if not 0 <= arg <= self.action_max_args[action_id]:
            raise ValueError(f"{action_name} takes args 0..{self.action_max_args[action_id]} (got {arg})")
        return int(self.offsets[action_id] + arg)

    def _torch(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        # Cached per device: conversions happen every env step and must not re-upload the table.
        if device not in self._torch_tables:
            self._torch_tables[device] = (
                torch.as_tensor(self.table, device=device),
                torch.as_tensor(self.offsets, device=device),
            )
        return self._torch_tables[device]

    def to_actions(self, pair_index: Array) -> Array:
        """Pair indices of any shape -> `(..., 2)` int32 `(action_id, arg)`."""
        if isinstance(pair_index, torch.Tensor):
            table, _ = self._torch(pair_index.device)
            return table[pair_index.long()]
        return self.table[np.asarray(pair_index, dtype=np.int64)]

    def to_pair_index(self, actions: Array) -> Array:
        """`(..., 2)` `(action_id, arg)` -> int64 pair indices. Inputs are trusted (see `is_valid`)."""
        if isinstance(actions, torch.Tensor):
            _, offsets = self._torch(actions.device)
            actions = actions.long()
            return offsets[actions[..., 0]] + actions[..., 1]
        actions = np.asarray(actions, dtype=np.int64)
        return self.offsets[actions[..., 0]] + actions[..., 1]

    def is_valid(self, actions: np.ndarray) -> np.ndarray:
        """Which `(action_id, arg)` rows name a real pair (numpy)."""
        actions = np.asarray(actions, dtype=np.int64)
        action_ids, args = actions[..., 0], actions[..., 1]
        known = (action_ids >= 0) & (action_ids < self.num_actions)
        max_args = np.asarray(self.action_max_args, dtype=np.int64)[np.where(known, action_ids, 0)]
        return known & (args >= 0) & (args <= max_args)
