"""Map builders: determinism, exact counts, maze perfectness, ASCII files, errors, layout."""

from __future__ import annotations

from collections import Counter, deque
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from mettagrid.map_builder import (
    AsciiMapConfig,
    InstancesConfig,
    MazeConfig,
    RandomMapConfig,
    agent_groups,
    build_map,
    count_agents,
    make_map_builder,
    parse_map_builder_config,
)
from mettagrid.map_builder.ascii import (
    CELL_TO_CHAR,
    CHAR_TO_CELL,
    grid_to_ascii,
    load_stored_map,
    parse_ascii,
    save_stored_map,
)
from mettagrid.map_builder.base import child_seeds

SEEDED_CONFIGS = {
    "random": RandomMapConfig(width=12, height=9, agents=3, objects={"altar": 4, "wall": 10}, border_width=1),
    "maze_kruskal": MazeConfig(algorithm="kruskal", width=15, height=11, agents=2, objects={"altar": 1}),
    "maze_dfs": MazeConfig(algorithm="dfs", width=15, height=11, agents=2, objects={"altar": 1}),
    "instances": InstancesConfig(
        instance=RandomMapConfig(width=6, height=6, agents=2, objects={"mine_red": 3}), num_instances=3
    ),
}


def one_line_message(error: BaseException) -> str:
    """The user-facing message: pydantic's own wording for validation errors, else str()."""
    if isinstance(error, ValidationError):
        messages = [item["msg"] for item in error.errors()]
        assert len(messages) == 1, messages
        message = messages[0]
    else:
        message = str(error)
    assert "\n" not in message, message
    return message


def open_mask(grid: np.ndarray) -> np.ndarray:
    return grid != "wall"


def reachable_from_first_open_cell(is_open: np.ndarray) -> int:
    height, width = is_open.shape
    start = tuple(np.argwhere(is_open)[0])
    seen = {start}
    queue = deque([start])
    while queue:
        row, col = queue.popleft()
        for nr, nc in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1)):
            if 0 <= nr < height and 0 <= nc < width and is_open[nr, nc] and (nr, nc) not in seen:
                seen.add((nr, nc))
                queue.append((nr, nc))
    return len(seen)


def open_adjacency_edges(is_open: np.ndarray) -> int:
    horizontal = np.count_nonzero(is_open[:, 1:] & is_open[:, :-1])
    vertical = np.count_nonzero(is_open[1:, :] & is_open[:-1, :])
    return int(horizontal + vertical)


# --- determinism -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SEEDED_CONFIGS))
def test_same_seed_same_map_different_seed_different_map(name):
    config = SEEDED_CONFIGS[name]
    first = build_map(config, seed=11)
    assert np.array_equal(first, build_map(config, seed=11))
    # A fresh builder from a round-tripped config gives the same map too (no hidden state).
    again = build_map(parse_map_builder_config(config.model_dump()), seed=11)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, build_map(config, seed=12))


def test_ascii_builder_ignores_seed():
    config = AsciiMapConfig(map_data="###\n#@#\n###")
    assert np.array_equal(build_map(config, 0), build_map(config, 1))


def test_child_seeds_are_deterministic_and_distinct():
    assert child_seeds(5, 4) == child_seeds(5, 4)
    assert len(set(child_seeds(5, 4))) == 4
    assert child_seeds(5, 4) != child_seeds(6, 4)


# --- counts and borders ------------------------------------------------------------------


def test_random_map_counts_and_border():
    config = RandomMapConfig(
        width=10,
        height=7,
        agents={"team_1": 2, "team_2": 3},
        objects={"altar": 2, "mine_red": 5},
        border_width=2,
    )
    grid = build_map(config, seed=3)
    assert grid.shape == (7 + 4, 10 + 4)
    counts = Counter(grid.ravel().tolist())
    assert counts["altar"] == 2 and counts["mine_red"] == 5
    assert counts["agent.team_1"] == 2 and counts["agent.team_2"] == 3
    assert count_agents(grid) == 5
    assert sorted(agent_groups(grid)) == ["team_1", "team_1", "team_2", "team_2", "team_2"]
    assert_border_is_wall(grid, 2)
    assert counts["wall"] == grid.size - 7 * 10  # no walls inside


def test_random_map_integer_agents_are_group_agent():
    grid = build_map(RandomMapConfig(width=4, height=4, agents=6), seed=0)
    assert agent_groups(grid) == ["agent"] * 6


def test_random_map_can_fill_every_cell():
    grid = build_map(RandomMapConfig(width=3, height=2, agents=2, objects={"block": 4}), seed=0)
    assert "empty" not in grid


def assert_border_is_wall(grid: np.ndarray, width: int) -> None:
    inner = np.zeros(grid.shape, dtype=bool)
    inner[width : grid.shape[0] - width, width : grid.shape[1] - width] = True
    assert (grid[~inner] == "wall").all()


def test_agent_groups_are_in_row_major_order():
    grid = parse_ascii("#2.1#\n#p@P#")
    assert agent_groups(grid) == ["team_2", "team_1", "prey", "agent", "predator"]
    assert count_agents(grid) == 5


# --- mazes -------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["kruskal", "dfs"])
@pytest.mark.parametrize("wall_width", [1, 2])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_maze_is_perfect(algorithm, wall_width, seed):
    config = MazeConfig(algorithm=algorithm, width=31, height=23, wall_width=wall_width, agents=0)
    is_open = open_mask(build_map(config, seed))
    open_cells = int(is_open.sum())
    assert reachable_from_first_open_cell(is_open) == open_cells
    # A connected graph with edges = nodes - 1 is a tree: exactly one path between cells.
    assert open_adjacency_edges(is_open) == open_cells - 1


@pytest.mark.parametrize("algorithm", ["kruskal", "dfs"])
def test_wide_corridor_maze_is_connected(algorithm):
    config = MazeConfig(algorithm=algorithm, width=30, height=20, corridor_width=3, wall_width=2, agents=0)
    grid = build_map(config, seed=4)
    is_open = open_mask(grid)
    assert reachable_from_first_open_cell(is_open) == is_open.sum()
    # 30 = 6 rooms of 3 + 5 walls of 2 + 2 spare columns, which stay wall.
    assert (grid[:, 28:] == "wall").all()


@pytest.mark.parametrize("algorithm", ["kruskal", "dfs"])
def test_maze_places_agents_and_objects_on_corridors(algorithm):
    config = MazeConfig(
        algorithm=algorithm,
        width=21,
        height=21,
        agents={"prey": 2, "predator": 1},
        objects={"altar": 3},
        border_width=1,
    )
    grid = build_map(config, seed=9)
    assert grid.shape == (23, 23)
    assert_border_is_wall(grid, 1)
    counts = Counter(grid.ravel().tolist())
    assert counts["altar"] == 3 and counts["agent.prey"] == 2 and counts["agent.predator"] == 1
    # Things sit on corridor cells, so the open cells still form a tree.
    is_open = open_mask(grid)
    assert reachable_from_first_open_cell(is_open) == is_open.sum()
    assert open_adjacency_edges(is_open) == is_open.sum() - 1


def test_single_room_maze():
    grid = build_map(MazeConfig(algorithm="dfs", width=1, height=1, agents=1), seed=0)
    assert grid.tolist() == [["agent.agent"]]


# --- ASCII -------------------------------------------------------------------------------


def test_every_character_round_trips():
    text = "".join(CHAR_TO_CELL)
    grid = parse_ascii(text)
    assert grid.shape == (1, len(text))
    assert np.array_equal(parse_ascii(grid_to_ascii(grid)), grid)
    assert CELL_TO_CHAR["agent.agent"] == "@" and CELL_TO_CHAR["empty"] == "."


@pytest.mark.parametrize("name", ["random", "maze_dfs", "instances"])
def test_built_maps_round_trip_through_ascii(name):
    grid = build_map(SEEDED_CONFIGS[name], seed=2)
    text = grid_to_ascii(grid)
    assert np.array_equal(parse_ascii(text), grid)
    assert grid_to_ascii(parse_ascii(text)) == text


def test_parse_ascii_tolerates_surrounding_newlines_and_crlf():
    grid = parse_ascii("\n#.#\r\n#@#\r\n\n")
    assert grid.tolist() == [["wall", "empty", "wall"], ["wall", "agent.agent", "wall"]]


def test_ascii_config_inline_with_border():
    grid = build_map(AsciiMapConfig(map_data="@_\n.m", border_width=1), seed=0)
    assert grid.shape == (4, 4)
    assert grid[1:3, 1:3].tolist() == [["agent.agent", "altar"], ["empty", "mine_red"]]
    assert_border_is_wall(grid, 1)


def test_stored_map_round_trip(tmp_path):
    grid = build_map(SEEDED_CONFIGS["maze_kruskal"], seed=5)
    metadata = {"config": SEEDED_CONFIGS["maze_kruskal"].model_dump(), "seed": 5, "labels": ["maze", "small"]}
    path = tmp_path / "maze.map"
    save_stored_map(path, grid, metadata)
    loaded, loaded_metadata = load_stored_map(path)
    assert np.array_equal(loaded, grid)
    assert loaded_metadata == metadata
    assert [p.name for p in tmp_path.iterdir()] == ["maze.map"]  # no temp file left behind
    # The builder reads stored maps too, ignoring the front matter.
    assert np.array_equal(build_map(AsciiMapConfig(uri=str(path)), seed=0), grid)


def test_stored_map_overwrite_replaces_whole_file(tmp_path):
    path = tmp_path / "room.map"
    save_stored_map(path, parse_ascii("#####\n#@..#\n#####"), {"seed": 1})
    save_stored_map(path, parse_ascii("###\n#@#\n###"), {"seed": 2})
    grid, metadata = load_stored_map(path)
    assert grid.shape == (3, 3) and metadata == {"seed": 2}


def test_plain_ascii_file_and_leading_separator(tmp_path):
    (tmp_path / "plain.map").write_text("###\n#@#\n###\n")
    grid, metadata = load_stored_map(tmp_path / "plain.map")
    assert metadata == {} and count_agents(grid) == 1
    (tmp_path / "jekyll.map").write_text("---\nseed: 3\n---\n#@#\n")
    grid, metadata = load_stored_map(tmp_path / "jekyll.map")
    assert metadata == {"seed": 3} and grid.shape == (1, 3)


def test_relative_uri_resolves_against_cwd_then_project_root(tmp_path, monkeypatch):
    (tmp_path / "here.map").write_text("#@#\n")
    monkeypatch.chdir(tmp_path)
    assert build_map(AsciiMapConfig(uri="here.map"), 0).shape == (1, 3)
    shipped = Path(__file__).resolve().parents[2] / "configs/env/mettagrid/maps/navigation"
    maps = sorted(shipped.glob("*.map"))
    if not maps:
        pytest.skip("no shipped maps to resolve")
    # From an unrelated cwd: the project-root-relative path and the maps-dir-relative path.
    by_root = build_map(AsciiMapConfig(uri=f"configs/env/mettagrid/maps/navigation/{maps[0].name}"), 0)
    by_maps_dir = build_map(AsciiMapConfig(uri=f"navigation/{maps[0].name}"), 0)
    assert np.array_equal(by_root, by_maps_dir)


# --- errors: one line naming the problem -------------------------------------------------


def test_unknown_character_names_file_line_and_column(tmp_path):
    path = tmp_path / "bad.map"
    path.write_text("seed: 1\n---\n#####\n#..Z#\n#####\n")
    with pytest.raises(ValueError) as info:
        load_stored_map(path)
    assert one_line_message(info.value) == f"{path}:4:4: unknown map character 'Z'"


def test_unknown_character_inline():
    with pytest.raises(ValueError) as info:
        parse_ascii("##\n#?", source="maps/x.map")
    assert one_line_message(info.value) == "maps/x.map:2:2: unknown map character '?'"


def test_ragged_rows():
    with pytest.raises(ValueError) as info:
        parse_ascii("####\n##\n####", source="r.map")
    message = one_line_message(info.value)
    assert message.startswith("r.map:2:") and "ragged" in message and "2 characters" in message


def test_too_many_things_says_asked_and_available():
    config = RandomMapConfig(width=3, height=3, agents=5, objects={"altar": 5})
    with pytest.raises(ValueError) as info:
        build_map(config, 0)
    message = one_line_message(info.value)
    assert "10 cells" in message and "only 9 empty cells" in message


def test_too_many_things_for_maze_corridors():
    config = MazeConfig(algorithm="kruskal", width=3, height=3, agents=8)  # 4 rooms + 3 passages
    with pytest.raises(ValueError) as info:
        build_map(config, 0)
    assert "only 7 empty cells" in one_line_message(info.value)


def test_uri_and_map_data_both_or_neither():
    for kwargs in ({"uri": "a.map", "map_data": "#"}, {}):
        with pytest.raises(ValidationError) as info:
            AsciiMapConfig(**kwargs)
        assert "exactly one of 'uri' and 'map_data'" in one_line_message(info.value)


def test_missing_file_names_the_path():
    with pytest.raises(FileNotFoundError) as info:
        build_map(AsciiMapConfig(uri="nowhere/missing.map"), 0)
    message = one_line_message(info.value)
    assert message.startswith("map file not found: nowhere/missing.map")


def test_maze_smaller_than_a_corridor():
    with pytest.raises(ValidationError) as info:
        MazeConfig(algorithm="dfs", width=2, height=5, corridor_width=3)
    assert "smaller than one corridor" in one_line_message(info.value)


def test_cell_name_too_long_for_grid():
    with pytest.raises(ValueError) as info:
        build_map(RandomMapConfig(width=2, height=2, objects={"x" * 40: 1}), 0)
    assert "must have 1 to 32 characters" in one_line_message(info.value)


def test_grid_to_ascii_rejects_names_without_a_character():
    with pytest.raises(ValueError) as info:
        grid_to_ascii(np.array([["wall", "converter"]]))
    assert "converter" in one_line_message(info.value)


SMALL_ROOM = {"type": "random", "width": 2, "height": 2}


@pytest.mark.parametrize(
    "data",
    [
        {"type": "random", "width": 3, "height": 3, "colour": "red"},
        {"type": "maze", "algorithm": "dfs", "width": 5, "height": 5, "size": 3},
        {"type": "ascii", "map_data": "#", "border": 1},
        {"type": "instances", "num_instances": 2, "instance": SMALL_ROOM, "gap": 1},
        {"type": "instances", "num_instances": 2, "instance": {**SMALL_ROOM, "x": 3}},
    ],
)
def test_configs_reject_unknown_keys(data):
    with pytest.raises(ValidationError) as info:
        parse_map_builder_config(data)
    assert [e["type"] for e in info.value.errors()] == ["extra_forbidden"]


def test_unknown_type_and_bad_values_are_rejected():
    with pytest.raises(ValidationError):
        parse_map_builder_config({"type": "wfc", "width": 3})
    with pytest.raises(ValidationError):
        parse_map_builder_config({"type": "maze", "algorithm": "prim", "width": 5, "height": 5})
    with pytest.raises(ValidationError):
        parse_map_builder_config({"type": "random", "width": 3, "height": 3, "agents": -1})


# --- instances ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("num_instances", "columns", "gap", "border", "expected_shape"),
    [
        (4, None, 1, 6, (2 * 25 + 1 + 12, 2 * 25 + 1 + 12)),  # the arena: 2x2 rooms of 25x25
        (3, None, 1, 0, (2 * 25 + 1, 2 * 25 + 1)),  # ceil(sqrt(3)) = 2 columns, 2 rows
        (5, 5, 2, 1, (25 + 2, 5 * 25 + 4 * 2 + 2)),
        (1, None, 3, 0, (25, 25)),
    ],
)
def test_instances_layout_size(num_instances, columns, gap, border, expected_shape):
    config = InstancesConfig(
        instance=RandomMapConfig(width=25, height=25, agents=6),
        num_instances=num_instances,
        columns=columns,
        instance_border_width=gap,
        border_width=border,
    )
    grid = build_map(config, seed=0)
    assert grid.shape == expected_shape
    assert count_agents(grid) == 6 * num_instances
    assert_border_is_wall(grid, border)


def test_instances_differ_and_unused_slots_are_wall():
    config = InstancesConfig(
        instance=RandomMapConfig(width=5, height=4, agents=2, objects={"altar": 3}),
        num_instances=3,
        columns=2,
    )
    grid = build_map(config, seed=1)
    assert grid.shape == (4 + 1 + 4, 5 + 1 + 5)
    rooms = [grid[0:4, 0:5], grid[0:4, 6:11], grid[5:9, 0:5]]
    assert not np.array_equal(rooms[0], rooms[1]) and not np.array_equal(rooms[1], rooms[2])
    assert (grid[5:9, 6:11] == "wall").all()
    assert (grid[4, :] == "wall").all() and (grid[:, 5] == "wall").all()


def test_nested_instances_and_dict_configs():
    config = parse_map_builder_config(
        {
            "type": "instances",
            "num_instances": 2,
            "instance": {
                "type": "instances",
                "num_instances": 2,
                "instance": {"type": "maze", "algorithm": "dfs", "width": 5, "height": 5},
            },
        }
    )
    assert isinstance(config, InstancesConfig) and isinstance(config.instance, InstancesConfig)
    grid = make_map_builder(config).build(0)
    assert count_agents(grid) == 4
