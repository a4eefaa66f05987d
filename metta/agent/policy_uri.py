"""Every policy a tool can be pointed at, behind one URI and one actor interface.

URIs
    metta://policy/random      uniformly random valid actions
    metta://policy/simple      a wandering heuristic (mostly forward, sometimes turn or use)
    metta://policy/scripted    walks the shortest path to the nearest useful building
    metta://policy/<name>?k=v  a scripted CoGsGuard team (mettagrid.cogsguard.policies: role,
                               role_py, miner, scout, aligner, scrambler, cogsguard, teacher,
                               baseline); integer parameters go to its constructor, e.g.
                               metta://policy/role?miner=4&scout=2, metta://policy/cogsguard?gear=10
    mock://<name>              the original's test policy: random actions, reported as <name>
    anything else              a trained checkpoint: file://, a path, s3:// or wandb://
                               (metta.agent.policy_store), chosen by selector and metric

`resolve_policies` turns a URI into `PolicySpec`s: a display name, the `policy_key` and
`policy_version` recorded in stats DBs (a checkpoint: its run and `v<epoch>`; a built-in:
its name and `builtin`), and `make_actor(env)`, whose result has `act(observations)` and
`observe_dones(terminals, truncations)` for every agent of a MettaGridVecEnv.

A spec can be sent to another process: `detached()` fetches a remote checkpoint first and
keeps only its local path.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metta.agent.builtin_names import (  # noqa: F401  (re-exported: callers import them from here)
    BUILTIN_NAMES,
    BUILTIN_PREFIX,
    COGSGUARD_NAMES,
    BuiltinNameError,
    parse_builtin,
)
from metta.agent.policy_store import PolicyRecord, PolicyStore, PolicyStoreError
from mettagrid.cogsguard.policies import COGSGUARD_POLICIES
from mettagrid.scripted_policies import SCRIPTED_POLICIES
from mettagrid.vec_env import MettaGridVecEnv

BUILTIN_VERSION = "builtin"
MOCK_PREFIX = "mock://"


class ScriptedActor:
    """A scripted policy with the actor interface; it keeps no memory across episodes."""

    def __init__(self, policy: Any):
        self.policy = policy

    def act(self, observations: np.ndarray) -> np.ndarray:
        return self.policy.act(observations)

    def observe_dones(self, terminals: np.ndarray, truncations: np.ndarray) -> None:
        pass


@dataclass
class PolicySpec:
    uri: str  # the chosen checkpoint's URI, or metta://policy/<name>
    name: str  # for people: "my_run:v12", "random"
    policy_key: str
    policy_version: str
    builtin: str | None = None  # a SCRIPTED_POLICIES or COGSGUARD_POLICIES name, for built-ins
    params: dict[str, int] = field(default_factory=dict)  # a built-in's URI parameters
    checkpoint: Path | None = None  # local file, once fetched
    record: PolicyRecord | None = field(default=None, repr=False, compare=False)
    _policy: torch.nn.Module | None = field(default=None, repr=False, compare=False)

    def load(self, device: str | torch.device = "cpu") -> torch.nn.Module | None:
        """The trained network (None for built-ins); loaded once per spec and process."""
        if self.builtin is not None:
            return None
        if self._policy is None:
            from metta.agent.policy_file import load_policy

            self._policy = load_policy(self.local_checkpoint(), device)
        return self._policy

    def local_checkpoint(self) -> Path:
        if self.checkpoint is None:
            assert self.record is not None, "a trained spec needs a record or a checkpoint path"
            self.checkpoint = self.record.local_path()
        return self.checkpoint

    def make_actor(self, env: MettaGridVecEnv, device: str | torch.device = "cpu", seed: int = 0):
        """An actor for every agent of `env`. Raises PolicyEnvMismatch when a trained policy
        cannot read the env's observations or take its actions."""
        if self.builtin is not None:
            if self.builtin in SCRIPTED_POLICIES:
                return ScriptedActor(SCRIPTED_POLICIES[self.builtin](env, seed=seed))
            factory, _ = COGSGUARD_POLICIES[self.builtin]
            return ScriptedActor(factory(env, seed=seed, **self.params))
        from metta.agent.policy_actor import PolicyActor

        return PolicyActor(self.load(device), env, device)

    def detached(self) -> PolicySpec:
        """A copy that pickles: the checkpoint fetched to local disk, no store record or model."""
        if self.builtin is None:
            self.local_checkpoint()
        return replace(self, record=None, _policy=None)


def builtin_spec(name: str) -> PolicySpec:
    """`name` is what follows metta://policy/: a built-in's name, maybe with `?key=value&...`."""
    uri = f"{BUILTIN_PREFIX}{name}"
    try:
        name, params = parse_builtin(name)
    except BuiltinNameError as error:
        raise PolicyStoreError(str(error)) from None
    label = name + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
    return PolicySpec(uri, label, label, BUILTIN_VERSION, builtin=name, params=params)


def spec_from_record(record: PolicyRecord) -> PolicySpec:
    key = record.run or record.name
    version = f"v{record.epoch}" if record.epoch is not None else "unversioned"
    return PolicySpec(record.uri, record.name, key, version, record=record)


def resolve_policies(
    uri: str,
    selector: str = "latest",
    metric: str = "score",
    n: int | None = None,
    store: PolicyStore | None = None,
) -> list[PolicySpec]:
    """The policies `uri` names: one built-in, or the checkpoints `selector` picks.

    Errors are one-line `PolicyStoreError`s (a ValueError) naming the URI.
    """
    if uri.lower().startswith(MOCK_PREFIX):
        name = uri[len(MOCK_PREFIX):].strip("/") or "mock"
        return [replace(builtin_spec("random"), uri=uri, name=name, policy_key=name)]
    if uri.lower().startswith("metta://"):
        if not uri.startswith(BUILTIN_PREFIX):
            raise PolicyStoreError(f"{uri}: metta:// URIs name built-in policies ({BUILTIN_PREFIX}<name>)")
        return [builtin_spec(uri[len(BUILTIN_PREFIX) :])]
    records = (store or PolicyStore()).records(uri, selector=selector, metric=metric, n=n)
    return [spec_from_record(record) for record in records]
