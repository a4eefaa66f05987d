"""Map builders: configs that turn an integer seed into a grid of cell names.

A grid (``GameMap``) is a ``(height, width)`` numpy array of strings: ``"empty"``, ``"wall"``,
``"block"``, ``"agent.<group>"`` or a building name. Builders never check names against a
game config; the env config compiles names to int codes later and rejects unknown ones.

To add a generator: write its config class (a pydantic model with a ``type`` literal; one
with a size inherits ``GridMapConfig`` from base.py for ``width``, ``height``, ``agents``,
``objects`` and ``border_width``) and builder class in one module, and add one row to
``_BUILDERS``; the config union ``MapBuilderConfig`` is built from that table.
docs/maps.md describes every builder, the scene format and the pattern library.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Annotated, Any, Union

import numpy as np
from pydantic import Field, TypeAdapter

from mettagrid.map_builder.ascii import AsciiMapBuilder, AsciiMapConfig
from mettagrid.map_builder.base import AGENT_PREFIX, MapBuilder
from mettagrid.map_builder.bsp import BspBuilder, BspConfig
from mettagrid.map_builder.cogsguard import CogsGuardMapBuilder, CogsGuardMapConfig
from mettagrid.map_builder.connectivity import is_connected
from mettagrid.map_builder.convchain import ConvChainBuilder, ConvChainConfig
from mettagrid.map_builder.instances import InstancesBuilder, InstancesConfig
from mettagrid.map_builder.make_connected import MakeConnectedBuilder, MakeConnectedConfig
from mettagrid.map_builder.maze import MazeBuilder, MazeConfig
from mettagrid.map_builder.mean_distance import MeanDistanceBuilder, MeanDistanceConfig
from mettagrid.map_builder.mirror import MirrorBuilder, MirrorConfig, mirror_child
from mettagrid.map_builder.random import RandomMapBuilder, RandomMapConfig
from mettagrid.map_builder.room_grid import RoomGridBuilder, RoomGridConfig
from mettagrid.map_builder.scene import SceneBuilder, SceneConfig, list_scene_names, load_scene
from mettagrid.map_builder.wfc import WfcBuilder, WfcConfig

GameMap = np.ndarray  # (height, width) array of cell-name strings

# The one table of map generators: config class -> builder (the lambdas build children first).
_BUILDERS: dict[type, Callable[[Any], MapBuilder]] = {
    AsciiMapConfig: AsciiMapBuilder,
    RandomMapConfig: RandomMapBuilder,
    MazeConfig: MazeBuilder,
    InstancesConfig: lambda config: InstancesBuilder(config, make_map_builder(config.instance)),
    BspConfig: BspBuilder,
    WfcConfig: WfcBuilder,
    ConvChainConfig: ConvChainBuilder,
    MirrorConfig: lambda config: MirrorBuilder(config, make_map_builder(mirror_child(config))),
    MakeConnectedConfig: lambda config: MakeConnectedBuilder(config, make_map_builder(config.child)),
    RoomGridConfig: lambda config: RoomGridBuilder(config, make_map_builder),
    SceneConfig: lambda config: SceneBuilder(config, make_map_builder),
    CogsGuardMapConfig: CogsGuardMapBuilder,
    MeanDistanceConfig: MeanDistanceBuilder,
}

# Every builder config, told apart by ``type``: built from the table, so a new generator is one row.
MapBuilderConfig = Annotated[Union[tuple(_BUILDERS)], Field(discriminator="type")]  # noqa: UP007

# Configs with a child config refer to the union above, which needs them itself.
for _wrapper in (InstancesConfig, MirrorConfig, MakeConnectedConfig, RoomGridConfig):
    _wrapper.model_rebuild(_types_namespace={"MapBuilderConfig": MapBuilderConfig})

# Config class by its ``type`` value, for code that fills in fields before validating.
_CONFIG_CLASSES: dict[str, type] = {cls.model_fields["type"].default: cls for cls in _BUILDERS}


def config_class(type_name: Any, owner: str = "map builder") -> type:
    if type_name not in _CONFIG_CLASSES:
        known = ", ".join(_CONFIG_CLASSES)
        raise ValueError(f"{owner}: unknown map builder type {type_name!r} (known: {known})")
    return _CONFIG_CLASSES[type_name]


@cache
def _config_adapter() -> TypeAdapter:
    return TypeAdapter(MapBuilderConfig)


def parse_map_builder_config(data: Mapping[str, Any]) -> MapBuilderConfig:
    """Validate a plain mapping (e.g. from YAML) into the config class its ``type`` names."""
    return _config_adapter().validate_python(dict(data))


def make_map_builder(config: MapBuilderConfig | Mapping[str, Any]) -> MapBuilder:
    if isinstance(config, Mapping):
        config = parse_map_builder_config(config)
    builder = _BUILDERS.get(type(config))
    if builder is None:
        raise TypeError(f"no map builder for config of type {type(config).__name__}")
    return builder(config)


def build_map(config: MapBuilderConfig | Mapping[str, Any], seed: int) -> np.ndarray:
    return make_map_builder(config).build(seed)


def _is_agent(grid: np.ndarray) -> np.ndarray:
    return np.char.startswith(grid, AGENT_PREFIX)


def count_agents(grid: np.ndarray) -> int:
    return int(np.count_nonzero(_is_agent(grid)))


def agent_groups(grid: np.ndarray) -> list[str]:
    """Group name of each agent cell in row-major order (the order agent ids are given in)."""
    return [cell[len(AGENT_PREFIX) :] for cell in grid[_is_agent(grid)].tolist()]


__all__ = [
    "AsciiMapConfig",
    "BspConfig",
    "CogsGuardMapConfig",
    "ConvChainConfig",
    "GameMap",
    "InstancesConfig",
    "MakeConnectedConfig",
    "MapBuilder",
    "MapBuilderConfig",
    "MazeConfig",
    "MeanDistanceConfig",
    "MirrorConfig",
    "RandomMapConfig",
    "RoomGridConfig",
    "SceneConfig",
    "WfcConfig",
    "agent_groups",
    "build_map",
    "config_class",
    "count_agents",
    "is_connected",
    "list_scene_names",
    "load_scene",
    "make_map_builder",
    "parse_map_builder_config",
]
