"""What a policy knows about its env: the feature table, the actions and the observation window.

A policy's input layer is indexed by feature id and its action head by (action, arg) pair, so
these tables are part of the policy: they are stored in every checkpoint's metadata
(`to_dict`) and compared by name with the env a checkpoint is later run on (`compat.py`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

# 0xFF marks an unused token, so a feature id must stay below it.
MAX_FEATURES = 255


@dataclass(frozen=True)
class PolicyEnvInfo:
    """The env tables a policy is built against (docs/mettagrid.md, sections 3 and 6)."""

    feature_names: tuple[str, ...]  # feature id -> name
    action_names: tuple[str, ...]  # action id -> name, in canonical order
    action_max_args: tuple[int, ...]  # action id -> highest valid arg
    obs_width: int
    obs_height: int
    num_observation_tokens: int  # token slots per agent (informative: policies read any count)

    def __post_init__(self) -> None:
        # Accept lists (from JSON or the env) but store tuples, so the info is hashable and immutable.
        for name in ("feature_names", "action_names"):
            object.__setattr__(self, name, tuple(str(item) for item in getattr(self, name)))
        object.__setattr__(self, "action_max_args", tuple(int(arg) for arg in self.action_max_args))
        for name in ("obs_width", "obs_height", "num_observation_tokens"):
            object.__setattr__(self, name, int(getattr(self, name)))
        problems = self._problems()
        if problems:
            raise ValueError("invalid PolicyEnvInfo: " + "; ".join(problems))

    def _problems(self) -> list[str]:
        problems = []
        if len(self.feature_names) > MAX_FEATURES:
            problems.append(f"{len(self.feature_names)} features, at most {MAX_FEATURES} fit a token")
        for table in ("feature_names", "action_names"):
            names = getattr(self, table)
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                problems.append(f"{table} repeats {', '.join(repeated)}")
        if not self.action_names:
            problems.append("no actions")
        if len(self.action_max_args) != len(self.action_names):
            problems.append(
                f"{len(self.action_names)} action names but {len(self.action_max_args)} action_max_args"
            )
        if any(arg < 0 or arg > 255 for arg in self.action_max_args):
            problems.append(f"action_max_args must lie in 0..255 (got {list(self.action_max_args)})")
        if not (1 <= self.obs_width <= 15 and 1 <= self.obs_height <= 15):
            problems.append(f"observation window {self.obs_height}x{self.obs_width} is outside 1..15")
        if self.num_observation_tokens < 1:
            problems.append(f"num_observation_tokens must be positive (got {self.num_observation_tokens})")
        return problems

    @property
    def num_features(self) -> int:
        return len(self.feature_names)

    @property
    def num_actions(self) -> int:
        return len(self.action_names)

    @classmethod
    def from_vec_env(cls, env: Any) -> PolicyEnvInfo:
        """Read the tables from a `MettaGridVecEnv` (or anything shaped like one)."""
        game = env.game
        return cls(
            feature_names=tuple(env.feature_names),
            action_names=tuple(env.action_names),
            action_max_args=tuple(env.action_max_args),
            obs_width=game.obs_width,
            obs_height=game.obs_height,
            num_observation_tokens=game.num_observation_tokens,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (lists and ints), for checkpoint metadata."""
        data = asdict(self)
        for name in ("feature_names", "action_names", "action_max_args"):
            data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyEnvInfo:
        """Inverse of `to_dict`; refuses missing or unknown keys with one line."""
        expected = {field.name for field in fields(cls)}
        missing = sorted(expected - set(data))
        unknown = sorted(set(data) - expected)
        if missing or unknown:
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unknown {', '.join(unknown)}"] if unknown else []
            )
            raise ValueError("invalid PolicyEnvInfo dict: " + "; ".join(parts))
        return cls(**{name: data[name] for name in expected})
