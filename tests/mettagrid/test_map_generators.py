"""The generator library: BSP, WFC, ConvChain, mirror, make_connected, room grids and scenes.

Determinism, sizes and counts, connectivity where promised, WFC's window property, mirror
symmetry, the shipped scene library, one-line errors, and each type driving a real env.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from pydantic import ValidationError

from mettagrid.map_builder import (
    BspConfig,
    ConvChainConfig,
    MakeConnectedConfig,
    MazeConfig,
    MeanDistanceConfig,
    MirrorConfig,
    RandomMapConfig,
    RoomGridConfig,
    SceneConfig,
    WfcConfig,
    agent_groups,
    build_map,
    count_agents,
    is_connected,
    list_scene_names,
    load_scene,
    make_map_builder,
    parse_map_builder_config,
)
from mettagrid.map_builder.ascii import parse_ascii
from mettagrid.map_builder.connectivity import connect_components, label_components, open_cells
from mettagrid.map_builder.patterns import learn_windows, windows

BLOB = """
............
...###......
..#####..##.
..#####.###.
...###..##..
............
.##.....###.
.##....####.
.......###..
............
"""

MAZE = """
##########
#........#
#.######.#
#.#....#.#
#.#.##.#.#
#.#.##...#
#.#.####.#
#...#....#
###.#.####
#...#....#
"""

NEW_TYPES = {
    "bsp": BspConfig(width=30, height=20, rooms=5, agents=2, objects={"altar": 2}, border_width=1),
    "wfc": WfcConfig(pattern=BLOB, width=24, height=16, agents=2, objects={"altar": 1}, border_width=1),
    "convchain": ConvChainConfig(
        pattern=MAZE, width=24, height=16, agents=2, objects={"altar": 1}, border_width=1
    ),
    "mirror": MirrorConfig(
        child=RandomMapConfig(width=1, height=1, objects={"wall": 12}),
        width=24,
        height=16,
        agents=1,
        objects={"altar": 1},
        border_width=1,
    ),
    "make_connected": MakeConnectedConfig(
        child=ConvChainConfig(
            pattern=MAZE, width=24, height=16, agents=2, objects={"altar": 1}, border_width=1
        )
    ),
    "room_grid": RoomGridConfig(
        width=24, height=16, rows=2, columns=3, agents=2, room_objects={"altar": 1}, border_width=1
    ),
    "scene": SceneConfig(scene="bsp/rooms", width=30, height=20, agents=2, border_width=1),
    "mean_distance": MeanDistanceConfig(
        mean_distance=4, width=24, height=16, agents=2, objects={"altar": 3}, border_width=1
    ),
}
EXPECTED_SHAPES = {"bsp": (22, 32), "scene": (22, 32)}  # the rest are 24x16 inside a border of 1


def one_line_message(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        messages = [item["msg"] for item in error.errors()]
        assert len(messages) == 1, messages
        message = messages[0]
    else:
        message = str(error)
    assert "\n" not in message, message
    return message


# --- every new type: determinism, size, counts --------------------------------------------


@pytest.mark.parametrize("name", sorted(NEW_TYPES))
def test_same_seed_same_map_different_seed_different_map(name):
    config = NEW_TYPES[name]
    first = build_map(config, seed=3)
    assert np.array_equal(first, build_map(config, seed=3))
    # A fresh builder from the round-tripped config agrees: no hidden state between builds.
    again = make_map_builder(parse_map_builder_config(config.model_dump())).build(3)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, build_map(config, seed=4))


@pytest.mark.parametrize("name", sorted(NEW_TYPES))
def test_size_border_and_agent_count(name):
    grid = build_map(NEW_TYPES[name], seed=0)
    assert grid.shape == EXPECTED_SHAPES.get(name, (18, 26))
    assert (grid[0] == "wall").all() and (grid[-1] == "wall").all()
    assert (grid[:, 0] == "wall").all() and (grid[:, -1] == "wall").all()
    assert count_agents(grid) == 2


def test_rebuilding_one_builder_gives_the_same_map():
    """WFC clears its caches per solve; the map must not depend on what was built before."""
    builder = make_map_builder(NEW_TYPES["wfc"])
    first = builder.build(5)
    builder.build(6)
    assert np.array_equal(builder.build(5), first)


# --- connectivity -------------------------------------------------------------------------


def test_is_connected_on_hand_written_maps():
    assert is_connected(parse_ascii("#####\n#@._#\n#####"))
    assert not is_connected(parse_ascii("#####\n#@#_#\n#####"))
    assert is_connected(parse_ascii("###\n###"))  # nothing open: trivially connected
    # Diagonal neighbours do not count.
    assert not is_connected(parse_ascii(".#\n#."))


def test_connect_components_carves_the_fewest_walls_and_keeps_the_border():
    grid = parse_ascii(
        """
#########
#@..#...#
#...##..#
#...###_#
#########
"""
    )
    carved = connect_components(grid)
    assert is_connected(carved)
    assert int((carved != grid).sum()) == 1  # one wall between the two rooms suffices
    assert (carved[0] == "wall").all() and (carved[-1] == "wall").all()
    assert (carved[:, 0] == "wall").all() and (carved[:, -1] == "wall").all()
    assert np.array_equal(connect_components(carved), carved)


@pytest.mark.parametrize("seed", range(4))
def test_make_connected_joins_every_region(seed):
    child = ConvChainConfig(pattern=MAZE, width=40, height=30, agents=3, border_width=1)
    raw = build_map(child, seed)
    grid = build_map(MakeConnectedConfig(child=child), seed)
    assert label_components(open_cells(raw))[1] > 1  # the test means something
    assert is_connected(grid)
    assert count_agents(grid) == 3
    # Only walls were carved, into empty cells.
    changed = grid != raw
    assert (raw[changed] == "wall").all() and (grid[changed] == "empty").all()


@pytest.mark.parametrize("corridor_width", [1, 2])
@pytest.mark.parametrize("seed", range(3))
def test_bsp_is_connected_with_rooms_apart(corridor_width, seed):
    config = BspConfig(width=50, height=36, rooms=9, min_room_size=4, corridor_width=corridor_width, agents=4)
    grid, rooms = make_map_builder(config).build_with_areas(seed)
    assert is_connected(grid)
    assert 2 <= len(rooms) <= 9 and all(room.tags == ("room",) for room in rooms)
    for room in rooms:
        assert room.height >= 4 and room.width >= 4
        assert (grid[room.slices] != "wall").all()
    # Agents sit in rooms, not corridors.
    in_rooms = np.zeros(grid.shape, dtype=bool)
    for room in rooms:
        in_rooms[room.slices] = True
    assert np.char.startswith(grid[in_rooms], "agent.").sum() == 4


@pytest.mark.parametrize("seed", range(3))
def test_maze_is_connected(seed):
    assert is_connected(build_map(MazeConfig(algorithm="kruskal", width=41, height=31), seed))


@pytest.mark.parametrize("doors", ["all", "tree"])
def test_room_grid_doors_connect_every_room(doors):
    config = RoomGridConfig(width=40, height=25, rows=3, columns=4, wall_width=2, door_width=2, doors=doors)
    grid, cells = make_map_builder(config).build_with_areas(1)
    assert is_connected(grid)
    assert len(cells) == 12 and all(cell.tags == ("cell",) for cell in cells)
    # 40 = 4 rooms + 3 walls of 2: rooms of 9, 9, 8, 8 columns.
    assert sorted({cell.width for cell in cells}) == [8, 9]


def test_room_grid_tree_doors_form_a_tree_of_rooms():
    config = RoomGridConfig(width=23, height=17, rows=3, columns=4, doors="tree", door_width=1)
    grid = build_map(config, 0)
    is_open = grid != "wall"
    # Each door is one open cell in a wall strip; a spanning tree of 12 rooms has 11.
    rooms = sum(int(is_open[cell.slices].sum()) for cell in make_map_builder(config).build_with_areas(0)[1])
    assert int(is_open.sum()) - rooms == 11


def test_room_grid_without_doors_is_not_connected_and_room_builder_fills_rooms():
    config = RoomGridConfig(
        width=20, height=9, rows=1, columns=2, doors="none", room={"type": "maze", "algorithm": "dfs"}
    )
    grid, cells = make_map_builder(config).build_with_areas(0)
    assert not is_connected(grid)
    for cell in cells:
        assert is_connected(grid[cell.slices]) and (grid[cell.slices] == "wall").any()


# --- WFC: only learned windows ------------------------------------------------------------


def learned(example: str, size: int, symmetry: str, periodic: bool) -> set[bytes]:
    grid = parse_ascii(example)
    patterns, _ = learn_windows(grid, size, symmetry, periodic, "test")
    return {pattern.reshape(-1).tobytes() for pattern in patterns}


@pytest.mark.parametrize(
    ("size", "symmetry", "periodic"),
    [(3, "all", True), (3, "horizontal", True), (3, "none", False), (2, "all", False)],
)
def test_wfc_output_only_has_windows_of_the_expanded_example(size, symmetry, periodic):
    example = MAZE if size == 2 else BLOB
    config = WfcConfig(
        pattern=example, pattern_size=size, symmetry=symmetry, periodic_input=periodic, width=30, height=20
    )
    allowed = learned(example, size, symmetry, periodic)
    for seed in range(2):
        grid = build_map(config, seed)
        assert grid.shape == (20, 30)
        found = {row.tobytes() for row in windows(grid, size, periodic=False)}
        assert found <= allowed, f"{len(found - allowed)} windows not in the example"


def test_symmetry_options_grow_the_window_set():
    none, horizontal, every = (learned(BLOB, 3, s, True) for s in ("none", "horizontal", "all"))
    assert none < horizontal <= every
    # An L-shaped example has corners in one orientation only until rotations are added.
    corner = "###\n#..\n#.."
    assert len(learned(corner, 2, "none", False)) < len(learned(corner, 2, "all", False))


def test_wfc_gives_up_after_max_attempts_with_one_line():
    # One window whose right column differs from its left: no two can sit side by side.
    config = WfcConfig(
        pattern="#.\n..",
        pattern_size=2,
        symmetry="none",
        periodic_input=False,
        width=5,
        height=5,
        max_attempts=3,
    )
    with pytest.raises(ValueError) as info:
        build_map(config, 0)
    message = one_line_message(info.value)
    assert message.startswith("wfc 5x5:") and "max_attempts=3" in message


# --- ConvChain ------------------------------------------------------------------------------


def test_convchain_output_is_mostly_windows_of_the_example():
    """Coin flips match the example in a fifth of their 3x3 windows; the chain in nearly all."""
    allowed = learned(MAZE, 3, "all", True)

    def seen_fraction(grid: np.ndarray) -> float:
        return float(np.mean([row.tobytes() in allowed for row in windows(grid, 3, periodic=False)]))

    config = ConvChainConfig(pattern=MAZE, width=40, height=40, temperature=1.0, iterations=10)
    coin_flips = np.where(np.random.default_rng(0).integers(0, 2, (40, 40)), "wall", "empty").astype("<U32")
    assert seen_fraction(coin_flips) < 0.3
    assert seen_fraction(build_map(config, 0)) > 0.9


def test_convchain_needs_exactly_two_kinds_of_cell():
    with pytest.raises(ValueError) as info:
        build_map(ConvChainConfig(pattern="#._\n...", width=8, height=8), 0)
    message = one_line_message(info.value)
    assert "convchain 8x8" in message and "exactly 2 kinds" in message and "altar" in message


# --- mirror ---------------------------------------------------------------------------------


def same_agents(grid: np.ndarray) -> np.ndarray:
    return np.where(np.char.startswith(grid, "agent."), "agent", grid)


@pytest.mark.parametrize("width", [20, 21])
@pytest.mark.parametrize("height", [12, 13])
def test_mirror_horizontal_vertical_and_x4_are_symmetric(width, height):
    child = {"type": "random", "objects": {"wall": 8, "block": 3}}
    groups = {
        "horizontal": ["team_1", "team_2"],
        "vertical": ["team_1", "team_2"],
        "x4": ["team_1", "team_2", "team_3", "team_4"],
    }
    for symmetry, names in groups.items():
        config = MirrorConfig(
            child=child,
            symmetry=symmetry,
            width=width,
            height=height,
            agents=2,
            objects={"altar": 1},
            groups=names,
        )
        grid = same_agents(build_map(config, 7))
        assert grid.shape == (height, width)
        if symmetry in ("horizontal", "x4"):
            assert np.array_equal(grid, grid[:, ::-1])
        if symmetry in ("vertical", "x4"):
            assert np.array_equal(grid, grid[::-1])
        groups_found = Counter(agent_groups(build_map(config, 7)))
        assert groups_found == {name: 2 for name in names}
        assert Counter(grid.ravel().tolist())["altar"] == len(names)


def test_mirror_groups_sit_on_their_own_side():
    config = MirrorConfig(child={"type": "random"}, width=16, height=8, agents=3, groups=["team_1", "team_2"])
    grid = build_map(config, 0)
    assert set(agent_groups(grid[:, :8])) == {"team_1"} and set(agent_groups(grid[:, 8:])) == {"team_2"}


@pytest.mark.parametrize("seed", range(3))
def test_mirror_connected_stays_symmetric(seed):
    child = {"type": "convchain", "pattern": BLOB, "temperature": 3.0}
    config = MirrorConfig(child=child, symmetry="x4", width=31, height=21, connected=True, agents=1)
    grid = same_agents(build_map(config, seed))
    assert is_connected(grid)
    assert np.array_equal(grid, grid[:, ::-1]) and np.array_equal(grid, grid[::-1])


def test_mirror_needs_one_group_per_copy():
    with pytest.raises(ValidationError) as info:
        MirrorConfig(child={"type": "random"}, symmetry="x4", width=8, height=8, groups=["a", "b"])
    assert "groups needs 4 names" in one_line_message(info.value)


# --- scenes ---------------------------------------------------------------------------------


SHIPPED_SCENES = [
    "bsp/rooms",
    "convchain/cave",
    "convchain/maze",
    "mirror/arena",
    "test/grid",
    "wfc/blob",
    "wfc/caves",
    "wfc/dungeon",
]


def test_the_scene_library_is_shipped():
    assert set(SHIPPED_SCENES) <= set(list_scene_names())


@pytest.mark.parametrize("name", list_scene_names())
@pytest.mark.parametrize(("width", "height"), [(24, 18), (41, 33)])
def test_every_shipped_scene_builds(name, width, height):
    config = load_scene(name, width, height)
    grid = build_map(config, 0)
    assert grid.shape == (height, width)
    assert np.array_equal(grid, build_map(config, 0))
    if config.scene.make_connected or name == "mirror/arena":
        assert is_connected(grid)


def test_scene_children_go_into_tagged_areas_with_limits():
    grid = build_map(load_scene("bsp/rooms", 40, 30), 2)
    counts = Counter(grid.ravel().tolist())
    assert counts["altar"] == 2 and counts["mine_red"] == 1 and counts["generator_red"] == 1
    # The grid scene gives every one of its six cells an altar.
    assert Counter(build_map(load_scene("test/grid", 40, 30), 0).ravel().tolist())["altar"] == 6


def test_scene_overrides_and_agents():
    config = load_scene("bsp/rooms", 40, 30, {"children.0.limit": 3, "agents": {"team_1": 2}})
    grid = build_map(config, 0)
    assert Counter(grid.ravel().tolist())["altar"] == 3
    assert agent_groups(grid) == ["team_1", "team_1"]
    # The same through the builder type, as an env config would write it.
    by_type = parse_map_builder_config(
        {
            "type": "scene",
            "scene": "bsp/rooms",
            "width": 40,
            "height": 30,
            "overrides": {"children.0.limit": 3, "agents": {"team_1": 2}},
        }
    )
    assert np.array_equal(build_map(by_type, 0), grid)


def test_inline_scene_with_nested_generators():
    config = parse_map_builder_config(
        {
            "type": "scene",
            "width": 30,
            "height": 20,
            "border_width": 1,
            "agents": 4,
            "scene": {
                "generator": {"type": "room_grid", "rows": 2, "columns": 2},
                "children": [
                    {
                        "where": {"tags": ["cell"]},
                        "limit": 1,
                        "order": "first",
                        "scene": {
                            "generator": {"type": "make_connected", "child": {"type": "wfc", "pattern": BLOB}}
                        },
                    },
                    {"where": "full", "scene": {"objects": {"altar": 2}}},
                ],
                "make_connected": True,
            },
        }
    )
    grid = build_map(config, 0)
    assert grid.shape == (22, 32) and count_agents(grid) == 4 and is_connected(grid)
    assert Counter(grid.ravel().tolist())["altar"] == 2
    # The first cell (top-left room) holds the WFC texture: it has walls inside.
    assert (grid[1:10, 1:15] == "wall").any()


def test_scene_errors_are_one_line():
    with pytest.raises(ValueError) as info:
        load_scene("nowhere/missing", 10, 10)
    assert "scene 'nowhere/missing' not found" in one_line_message(info.value) and "wfc/caves" in str(
        info.value
    )
    with pytest.raises(ValueError) as info:
        load_scene("bsp/rooms", 10, 10, {"children.7.limit": 1})
    assert "children.7.limit" in one_line_message(info.value)
    with pytest.raises(ValidationError) as info:
        parse_map_builder_config(
            {"type": "scene", "width": 9, "height": 9, "scene": {"generator": {"type": "bsp", "roomz": 3}}}
        )
    assert "roomz" in one_line_message(info.value)


# --- errors: one line naming the builder, parameter and value -----------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (BspConfig(width=10, height=8, rooms=1, agents=40), "bsp 10x8"),
        (WfcConfig(pattern=BLOB, width=6, height=6, agents=40), "wfc 6x6"),
        (RoomGridConfig(width=7, height=3, columns=2, rows=1, agents=19), "room_grid 7x3"),
        (MirrorConfig(child={"type": "random"}, width=4, height=2, agents=5), "mirror horizontal 4x2"),
        (SceneConfig(scene="bsp/rooms", width=12, height=12, agents=200), "scene bsp/rooms 12x12"),
    ],
)
def test_too_many_agents_is_one_line(config, expected):
    with pytest.raises(ValueError) as info:
        build_map(config, 0)
    message = one_line_message(info.value)
    assert message.startswith(expected) and "cells for objects and agents" in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"type": "bsp", "width": 4, "height": 20}, "min_room_size=3"),
        ({"type": "wfc", "pattern": "#.", "width": 2, "height": 9}, "smaller than one pattern of size 3"),
        ({"type": "room_grid", "width": 5, "height": 5, "columns": 4}, "columns=4"),
        ({"type": "wfc", "pattern": "#.\n.#", "width": 9, "height": 9, "symmetry": "rot"}, "Input should be"),
    ],
)
def test_impossible_configs_are_refused_with_one_line(data, expected):
    with pytest.raises(ValidationError) as info:
        parse_map_builder_config(data)
    assert expected in one_line_message(info.value)


def test_pattern_larger_than_example_without_wrap():
    with pytest.raises(ValueError) as info:
        build_map(WfcConfig(pattern="#.\n.#", pattern_size=3, periodic_input=False, width=9, height=9), 0)
    assert "pattern_size 3 is larger than the 2x2 pattern" in one_line_message(info.value)


# --- each new type drives a real env --------------------------------------------------------


@pytest.fixture(scope="module")
def arena_data():
    pytest.importorskip("mettagrid._core")
    from mettagrid.env_configs import compose_env_config

    return compose_env_config("mettagrid/arena/basic").model_dump()


@pytest.mark.parametrize("name", sorted(NEW_TYPES))
def test_new_type_as_env_map_builder(arena_data, name):
    from mettagrid.config import load_env_config
    from mettagrid.vec_env import MettaGridVecEnv

    data = {**arena_data, "name": f"test/{name}"}
    data["game"] = {
        **data["game"],
        "num_agents": 2,
        "map_builder": NEW_TYPES[name].model_dump(),
        "max_steps": 8,
    }
    config = load_env_config(data)
    env = MettaGridVecEnv(config, num_envs=2, seed=0)
    rng = np.random.default_rng(0)
    env.reset()
    for _ in range(10):  # past max_steps, so each env also builds its next map
        env.step(env.valid_random_actions(rng))
    assert env.map_size() == EXPECTED_SHAPES.get(name, (18, 26))
    env.close()


def test_a_scene_that_includes_itself_is_one_clear_error(tmp_path):
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text(f"children:\n  - scene: {{generator: {{type: scene, scene: {second}}}}}\n")
    second.write_text(f"children:\n  - scene: {{generator: {{type: scene, scene: {first}}}}}\n")
    with pytest.raises(ValueError, match=r"includes itself \(first -> second -> first\)"):
        load_scene(str(first), 20, 20)
    # The same file twice side by side is not a loop.
    leaf = tmp_path / "leaf.yaml"
    leaf.write_text("generator: {type: maze, algorithm: kruskal}\n")
    twice = tmp_path / "twice.yaml"
    twice.write_text("children:\n" + f"  - scene: {{generator: {{type: scene, scene: {leaf}}}}}\n" * 2)
    assert load_scene(str(twice), 20, 20).scene.children[1].scene.generator["scene"] == str(leaf)
