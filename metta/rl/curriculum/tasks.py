"""What a curriculum's tasks are: env configs, described by (base env, overrides), built on demand.

A task list is never materialised: `TaskSpace.describe(i)` turns a task id into its overrides
(mixed-radix digits over the buckets, or one row of an explicit list), and `TaskSpace.config(i)`
composes that task's EnvConfig when an env is about to play it (a small LRU keeps the few in
use). A bucketed space of 10,000+ combinations therefore costs a few lists of bucket values.
"""

from __future__ import annotations

import copy
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from mettagrid.config import EnvConfig, compile_params, load_env_config
from mettagrid.errors import ConfigError

# Task configs kept at once (bounded: a bucketed space of 10,000+ tasks never holds them all).
CONFIG_CACHE = 256


@dataclass(frozen=True)
class Bucket:
    """One axis of a bucketed space: a dotted env key and the values it takes."""

    key: str
    values: tuple[Any, ...]


def bucket_values(key: str, spec: Any, source: str) -> tuple[Any, ...]:
    """`[a, b, c]`, `{values: [...]}` or `{range: [lo, hi], bins: n}` (bin centres; ints stay ints)."""
    if isinstance(spec, dict) and "values" in spec:
        spec = spec["values"]
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise ConfigError(f"{source}: buckets.{key}: empty bucket list")
        return tuple(spec)
    if isinstance(spec, dict) and "range" in spec:
        low, high = spec["range"]
        bins = spec.get("bins", 1)
        if not isinstance(bins, int) or bins < 1:
            raise ConfigError(f"{source}: buckets.{key}.bins: must be a positive integer (got {bins!r})")
        if high < low:
            raise ConfigError(f"{source}: buckets.{key}.range: [{low}, {high}] is empty")
        width = (high - low) / bins
        centres = [low + width * (i + 0.5) for i in range(bins)]
        if isinstance(low, int) and isinstance(high, int):
            return tuple(int(round(c)) for c in centres)
        return tuple(centres)
    raise ConfigError(f"{source}: buckets.{key}: give a list of values, {{values: [...]}} or {{range: [lo, hi], bins: n}}")


Path = tuple[str, ...]


def set_dotted(data: dict[str, Any], path: Path, value: Any) -> None:
    node = data
    parts = path
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def has_dotted(data: dict[str, Any], path: Path) -> bool:
    node: Any = data
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def flatten(overrides: dict[str, Any], prefix: Path = ()) -> dict[Path, Any]:
    """`{game.max_steps: 9}` and `{game: {max_steps: 9}}` -> `{("game", "max_steps"): 9}`.

    Only top-level keys are split at dots: nested keys are taken whole, so a stat name with
    dots can be set (`{game.agent.rewards.stats: {heart.gained: 2}}`)."""
    flat: dict[Path, Any] = {}
    for key, value in (overrides or {}).items():
        path = prefix + (tuple(str(key).split(".")) if not prefix else (str(key),))
        if isinstance(value, dict) and value:
            flat.update(flatten(value, path))
        else:
            flat[path] = value
    return flat


def dotted(path: Path) -> str:
    return ".".join(path)


def layout(config: EnvConfig) -> dict[str, Any]:
    """What every task of one curriculum must share: it fixes buffers, observations and actions."""
    params = compile_params(config)
    return {
        "num_agents": params["num_agents"],
        "observation window": (params["obs_width"], params["obs_height"]),
        "observation tokens": params["num_observation_tokens"],
        "items": params["item_names"],
        "actions": [(a["name"], a.get("max_arg")) for a in params["actions"]],
        "object types": [(o["name"], o["type_id"]) for o in params["object_types"]],
        "groups": [g["name"] for g in params["groups"]],
    }


@dataclass
class TaskSpace:
    """Tasks over one or more base envs: explicit rows (`rows`) or the product of `buckets`."""

    source: str
    bases: dict[str, dict[str, Any]]  # base env name -> its composed config (plain dict)
    rows: list[tuple[str, str, dict[str, Any]]] | None  # (name, base, overrides) per task
    bucket_base: str | None = None
    buckets: tuple[Bucket, ...] = ()
    env_overrides: dict[str, Any] | None = None

    def __post_init__(self):
        self._cache: OrderedDict[int, EnvConfig] = OrderedDict()
        self._lock = threading.Lock()  # the map prebuilder asks from its own thread
        self._layout: tuple[str, dict[str, Any]] | None = None

    def __len__(self) -> int:
        if self.rows is not None:
            return len(self.rows)
        return math.prod(len(b.values) for b in self.buckets)

    def describe(self, task_id: int) -> tuple[str, str, dict[str, Any]]:
        """(name, base env, overrides) of one task, without building it."""
        if not 0 <= task_id < len(self):
            raise IndexError(f"task {task_id} out of range [0, {len(self)})")
        if self.rows is not None:
            return self.rows[task_id]
        overrides, rest = {}, task_id
        for bucket in reversed(self.buckets):  # mixed radix, last bucket fastest
            rest, digit = divmod(rest, len(bucket.values))
            overrides[bucket.key] = bucket.values[digit]
        overrides = dict(reversed(list(overrides.items())))
        name = ",".join(f"{key.rsplit('.', 1)[-1]}={value}" for key, value in overrides.items())
        overrides = {tuple(key.split(".")): value for key, value in overrides.items()}
        return name, self.bucket_base, overrides

    def name(self, task_id: int) -> str:
        return self.describe(task_id)[0]

    def config(self, task_id: int) -> EnvConfig:
        """The task's EnvConfig (composed once while in use); refuses a layout unlike the others'."""
        with self._lock:
            if task_id in self._cache:
                self._cache.move_to_end(task_id)
                return self._cache[task_id]
        name, base, overrides = self.describe(task_id)
        data = copy.deepcopy(self.bases[base])
        for path, value in {**flatten(self.env_overrides or {}), **overrides}.items():
            set_dotted(data, path, value)
        # The map is not test-built here: it is built right after, and the core checks it.
        config = load_env_config(data, source=f"{self.source}: task {name}", check_map=False)
        self._check_layout(name, config)
        with self._lock:
            self._cache[task_id] = config
            while len(self._cache) > CONFIG_CACHE:
                self._cache.popitem(last=False)
        return config

    def _check_layout(self, name: str, config: EnvConfig) -> None:
        mine = layout(config)
        if self._layout is None:
            self._layout = (name, mine)
            return
        first_name, first = self._layout
        for key, value in first.items():
            if mine[key] != value:
                raise ConfigError(f"{self.source}: tasks {first_name} and {name} differ in {key} "
                                  f"({value} vs {mine[key]}); a curriculum's tasks must share it")
