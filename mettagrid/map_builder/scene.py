"""Scenes: a tree of generators, each child built into tagged areas of its parent's map.

A scene node builds its area with a ``generator`` (any map builder config, written without
``width``/``height``: the node gives it the size of its area), then builds each child
scene into the areas of the generator's map whose tags match (BSP rooms are tagged
``room``, room-grid cells ``cell``; ``where: full`` is the node's whole area), optionally
carves the result connected, and finally places its own ``objects`` and ``agents`` on empty
cells. A node without a generator keeps what its parent put in the area, so a child can
just add objects to a room. Example (``configs/scenes/bsp/rooms.yaml``)::

    generator: {type: bsp, rooms: 6, min_room_size: 4}
    children:
      - where: {tags: [room]}
        limit: 2
        order: random
        scene:
          objects: {altar: 1}

Scene files live under ``configs/scenes/`` and are named by their path without ``.yaml``
(``wfc/caves``). ``load_scene`` reads one into a ``SceneConfig``, the ``scene`` map builder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PositiveInt,
    Tag,
    field_validator,
    model_validator,
)

from mettagrid.errors import read_yaml
from mettagrid.map_builder.areas import Area, add_border_with_areas, build_with_areas
from mettagrid.map_builder.ascii import PROJECT_ROOT
from mettagrid.map_builder.base import (
    AgentCounts,
    GridMapConfig,
    MapBuilder,
    ObjectCounts,
    child_seeds,
    empty_grid,
    placed_cell_names,
)
from mettagrid.map_builder.connectivity import connect_components
from mettagrid.map_builder.placement import place_in_cells
from mettagrid.map_builder.sizing import check_shape, config_for_area

if TYPE_CHECKING:
    from mettagrid.map_builder import MapBuilderConfig

SCENES_DIR = PROJECT_ROOT / "configs" / "scenes"

# Generators are checked when a scene is loaded by validating them for an area of this size;
# the real size is only known when the parent has been built.
CHECK_SIZE = 64


class AreaQuery(BaseModel):
    """Areas of the parent's map that carry at least one of ``tags``."""

    model_config = ConfigDict(extra="forbid")

    tags: list[str] = Field(min_length=1, description="Tags to match, e.g. [room] or [cell].")


class ChildScene(BaseModel):
    """Where in the parent a child scene goes, and how many times."""

    model_config = ConfigDict(extra="forbid")

    where: AreaQuery | Literal["full"] = Field(
        default="full", description="Tagged areas of the parent's generator, or the parent's full area."
    )
    limit: PositiveInt | None = Field(
        default=None, description="Use at most this many of the matching areas."
    )
    order: Literal["random", "first"] = Field(
        default="random",
        description="Which areas the limit keeps: a random choice, or the first in map order.",
    )
    scene: SceneNode = Field(description="The scene built into each chosen area.")


class SceneNode(BaseModel):
    """One node of a scene tree (the content of a scene file)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        default=None, description="The scene file it came from (set by the loader), for messages."
    )
    generator: dict[str, Any] | None = Field(
        default=None,
        description="A map builder config without width/height (the node gives it its area's size); "
        "none keeps what the parent put there.",
    )
    children: list[ChildScene] = Field(
        default_factory=list, description="Scenes built into parts of this one."
    )
    make_connected: bool = Field(
        default=False, description="After the children, carve walls so every non-wall cell is reachable."
    )
    objects: ObjectCounts = Field(
        default_factory=dict, description="Object name -> how many, placed last on empty cells."
    )
    agents: AgentCounts = Field(
        default=0,
        description="Agents placed last on empty cells: a count of group 'agent', or group -> count.",
    )

    @field_validator("generator")
    @classmethod
    def _generator_is_a_builder(cls, generator: dict[str, Any] | None) -> dict[str, Any] | None:
        if generator is not None:
            config_for_area(generator, CHECK_SIZE, CHECK_SIZE, f"generator {generator.get('type')!r}")
        return generator


# A name or an inline node: choose by the input's kind, so a bad node reports only its own error.
SceneRef = Annotated[
    Annotated[str, Tag("name")] | Annotated[SceneNode, Tag("node")],
    Discriminator(lambda value: "name" if isinstance(value, str) else "node"),
]


class SceneConfig(GridMapConfig):
    """The ``scene`` map builder: a scene tree (by name, by file, or inline) built at a given size."""

    type: Literal["scene"] = "scene"
    scene: SceneRef = Field(
        description="A scene name under configs/scenes/ (e.g. 'wfc/caves'), a YAML file path, or a node inline."
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="Dotted keys into the scene, e.g. {'generator.temperature': 0.5, 'children.0.limit': 2}.",
    )
    agents: AgentCounts = Field(
        default=0, description="Agents placed after the scene on empty cells: a count, or group -> count."
    )
    objects: ObjectCounts = Field(
        default_factory=dict, description="Object name -> how many, placed after the scene on empty cells."
    )

    @model_validator(mode="after")
    def _scene_resolves(self) -> SceneConfig:
        resolve_scene(self)  # a missing file or a bad override fails when the config is read
        return self


# --- scene files -------------------------------------------------------------------------


def list_scene_names() -> list[str]:
    """Every scene shipped under configs/scenes/, as names (``wfc/caves``)."""
    return sorted(
        path.relative_to(SCENES_DIR).with_suffix("").as_posix() for path in SCENES_DIR.rglob("*.yaml")
    )


def scene_path(name_or_path: str) -> Path:
    """A scene file: a name under configs/scenes/, or a path (as given, under the project root,
    or under configs/ as the original's tools wrote it: ``scenes/wfc/blob.yaml``)."""
    path = Path(name_or_path)
    candidates = [SCENES_DIR / f"{name_or_path}.yaml"]
    if path.suffix in (".yaml", ".yml"):
        candidates = [path, PROJECT_ROOT / path, SCENES_DIR.parent / path] if not path.is_absolute() else [path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ValueError(f"scene {name_or_path!r} not found (known scenes: {', '.join(list_scene_names())})")


def apply_overrides(data: Any, overrides: Mapping[str, Any], source: str) -> Any:
    """A copy of ``data`` with each dotted key set (``children.0.limit``: list index 0)."""
    data = yaml.safe_load(yaml.safe_dump(data))  # a deep copy of plain data
    for dotted, value in overrides.items():
        *path, last = dotted.split(".")
        node = data
        for part in path:
            node = step_into(node, part, dotted, source)
        if isinstance(node, list):
            node[list_index(node, last, dotted, source)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            # A ValueError like every other config error, so config readers report it in one line.
            problem = f"{'.'.join(path)} is not a mapping or a list"
            raise ValueError(f"{source}: override {dotted!r}: {problem}")  # noqa: TRY004
    return data


def step_into(node: Any, part: str, dotted: str, source: str) -> Any:
    if isinstance(node, list):
        return node[list_index(node, part, dotted, source)]
    if isinstance(node, dict):
        if node.get(part) is None:
            node[part] = {}
        return node[part]
    raise ValueError(f"{source}: override {dotted!r}: cannot go into {part!r}")


def list_index(node: list, part: str, dotted: str, source: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ValueError(f"{source}: override {dotted!r}: {part!r} is not an index of a list of {len(node)}")
    return int(part)


# Scene files being read, outermost first: a file that includes itself (through generators
# of type `scene`) would otherwise recurse until Python gives up.
_READING: ContextVar[tuple[Path, ...]] = ContextVar("scenes_being_read", default=())


def read_scene(name_or_path: str, overrides: Mapping[str, Any] | None = None) -> SceneNode:
    path = scene_path(name_or_path).resolve()
    reading = _READING.get()
    if path in reading:
        chain = " -> ".join(p.stem for p in (*reading[reading.index(path):], path))
        raise ValueError(f"scene {name_or_path!r} includes itself ({chain})")
    data = read_yaml(path) or {}
    data = apply_overrides(data, overrides or {}, name_or_path)
    if isinstance(data, dict):
        data.setdefault("name", name_or_path)
    token = _READING.set((*reading, path))
    try:
        return SceneNode.model_validate(data)
    finally:
        _READING.reset(token)


def resolve_scene(config: SceneConfig) -> SceneNode:
    """The scene tree of a config, with its overrides applied."""
    if isinstance(config.scene, str):
        return read_scene(config.scene, config.overrides)
    if not config.overrides:
        return config.scene
    return SceneNode.model_validate(
        apply_overrides(config.scene.model_dump(), config.overrides, "inline scene")
    )


def load_scene(
    name_or_path: str, width: int, height: int, overrides: Mapping[str, Any] | None = None
) -> SceneConfig:
    """A ``scene`` map builder config for a scene file at ``width x height``, overrides applied.

    The tree is inlined, so the config (e.g. saved with a generated map) rebuilds the same
    map even if the file changes later.
    """
    return SceneConfig(scene=read_scene(name_or_path, overrides), width=width, height=height)


# --- building ----------------------------------------------------------------------------


def chosen_areas(
    child: ChildScene, areas: list[Area], shape: tuple[int, int], rng: np.random.Generator
) -> list[Area]:
    if child.where == "full":
        candidates = [Area(0, 0, shape[0], shape[1], ("full",))]
    else:
        wanted = set(child.where.tags)
        candidates = [area for area in areas if wanted.intersection(area.tags)]
    if child.order == "random":
        candidates = [candidates[i] for i in rng.permutation(len(candidates))]
    return candidates[: child.limit]


class SceneBuilder:
    def __init__(self, config: SceneConfig, make_builder: Callable[[MapBuilderConfig], MapBuilder]):
        self.config = config
        self.make_builder = make_builder
        self.root = resolve_scene(config)
        self.name = self.root.name or "inline"
        # Children's areas differ in size from map to map; one builder per (generator, size).
        self.builders: dict[tuple[int, int, int], MapBuilder] = {}

    def build(self, seed: int) -> np.ndarray:
        return self.build_with_areas(seed)[0]

    def build_with_areas(self, seed: int) -> tuple[np.ndarray, list[Area]]:
        config = self.config
        tree_seed, placement_seed = child_seeds(seed, 2)
        owner = f"scene {self.name} {config.width}x{config.height}"
        grid, areas = self.build_node(self.root, empty_grid(config.height, config.width), tree_seed, owner)
        names = placed_cell_names(config.objects, config.agents)
        everywhere = np.ones(grid.shape, dtype=bool)
        place_in_cells(grid, names, everywhere, np.random.default_rng(placement_seed), owner, "in the scene")
        return add_border_with_areas(grid, areas, config.border_width)

    def build_node(
        self, node: SceneNode, area: np.ndarray, seed: int, owner: str
    ) -> tuple[np.ndarray, list[Area]]:
        """The node's map for an area whose current content is ``area``, and its generator's areas."""
        generator_seed, choice_seed, placement_seed, *children_seeds = child_seeds(
            seed, 3 + len(node.children)
        )
        height, width = area.shape
        if node.generator is None:
            grid, areas = area.copy(), []
        else:
            generator_owner = f"{owner} generator {node.generator.get('type')}"
            grid, areas = build_with_areas(
                self.generator(node, height, width, generator_owner), generator_seed
            )
            check_shape(grid, height, width, generator_owner)
        choice_rng = np.random.default_rng(choice_seed)
        for index, (child, child_seed) in enumerate(zip(node.children, children_seeds)):
            targets = chosen_areas(child, areas, grid.shape, choice_rng)
            for target, target_seed in zip(targets, child_seeds(child_seed, len(targets))):
                part, _ = self.build_node(
                    child.scene, grid[target.slices], target_seed, f"{owner} child {index}"
                )
                grid[target.slices] = part
        if node.make_connected:
            grid = connect_components(grid, owner)
        names = placed_cell_names(node.objects, node.agents)
        everywhere = np.ones(grid.shape, dtype=bool)
        place_in_cells(grid, names, everywhere, np.random.default_rng(placement_seed), owner, "in its area")
        return grid, areas

    def generator(self, node: SceneNode, height: int, width: int, owner: str) -> MapBuilder:
        key = (id(node), height, width)  # nodes live as long as self.root, so ids are stable
        if key not in self.builders:
            self.builders[key] = self.make_builder(config_for_area(node.generator, height, width, owner))
        return self.builders[key]


ChildScene.model_rebuild()
