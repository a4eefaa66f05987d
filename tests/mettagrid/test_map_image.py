"""Map images (mettagrid/renderer/image.py) follow the viewer's sprite rules (sprites.json).

Pillow pixels are checked against the colours the rules put under each cell's probe point, the
hashed colours against FNV-1a test vectors and against palette.js in headless Chromium, and a
small map is drawn by both MettaScope and Pillow and compared cell by cell. The browser tests
skip without Chromium.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from mettagrid.renderer.image import (
    agent_ring_color,
    building_style,
    grid_to_replay,
    group_color,
    hash_string,
    hashed_color,
    hsl_to_hex,
    load_sprite_rules,
    render_map_image,
    render_replay_frame_image,
    shade,
)
from mettagrid.replay import frame_at

GRID = np.array([
    ["wall", "wall", "wall", "wall", "wall", "wall", "wall"],
    ["wall", "mine_red", "mine_blue", "generator_green", "altar", "armory", "wall"],
    ["wall", "lasery", "lab", "factory", "temple", "zebra_hut", "wall"],
    ["wall", "block", "agent.agent", "agent.blue_team", "agent.red_team", "empty", "wall"],
    ["wall", "mine", "lab_red", "9lives", "empty", "wall", "wall"],
    ["wall", "wall", "wall", "wall", "wall", "wall", "wall"],
])
GROUP_IDS = {"agent": 0, "blue_team": 1, "red_team": 2}  # sorted group names
CELL = 48
CENTRE = (0.5, 0.5)


def rgb(color: str) -> list[int]:
    return [int(color[i:i + 2], 16) for i in (1, 3, 5)]


def expected_probe(name: str) -> tuple[tuple[float, float], str]:
    """Where to look in a cell (x, y in cell units) and the colour the sprite rules put there:
    the topmost primitive under the cell centre, or the body above a letter icon."""
    rules = load_sprite_rules()
    colors = rules["colors"]
    if name == "empty":
        return CENTRE, colors["floor"]
    if name == "wall":
        return CENTRE, colors["wall"]
    if name == "block":
        return CENTRE, colors["blockEdge"]  # where the cross's strokes meet
    if name.startswith("agent."):
        return CENTRE, group_color(GROUP_IDS[name.removeprefix("agent.")])
    style = building_style(name)
    icon = style["icon"]
    if icon == "letter":
        return (0.5, 0.22), style["body"]  # above the letter
    if icon == "generator":
        return CENTRE, rules["icons"]["generator"][1]["fill"]  # the bolt
    if icon == "shield":
        return CENTRE, style["body"]  # the shield's middle stripe
    return CENTRE, style["accent"]  # mine's gem, heart, laser beam, flask, factory, temple column


def pixel(image, row: int, col: int, probe: tuple[float, float], cell: int = CELL) -> list[int]:
    x, y = probe
    return list(image.getpixel((col * cell + int(x * cell), row * cell + int(y * cell))))


# ---------------------------------------------------------------------------------------------
# Pillow


def test_every_kind_of_cell_has_the_sprite_rules_colour_at_its_probe():
    image = render_map_image(GRID, CELL)
    assert image.mode == "RGB"
    assert image.size == (GRID.shape[1] * CELL, GRID.shape[0] * CELL)
    for (row, col), name in np.ndenumerate(GRID):
        probe, color = expected_probe(str(name))
        assert pixel(image, row, col, probe) == rgb(color), (row, col, name)


def test_family_styles_follow_the_tables():
    rules = load_sprite_rules()
    assert building_style("mine_red")["accent"] == rules["tints"]["red"]
    assert building_style("lab_red")["accent"] == rules["tints"]["red"]  # a tint beats the family accent
    assert building_style("lab")["accent"] == rules["buildings"]["lab"]["accent"]
    assert building_style("mine")["accent"] == hashed_color("mine", *rules["hashed"]["building_accent"])
    unknown = building_style("zebra_hut")
    assert unknown == {"body": hashed_color("zebra_hut", *rules["hashed"]["unknown_body"]),
                       "accent": hashed_color("zebra_hut", *rules["hashed"]["unknown_accent"]),
                       "icon": "letter", "letter": "Z"}
    assert building_style("9lives")["letter"] == "9"
    assert building_style("constructor")["icon"] == "letter"  # names are looked up, not attributes
    assert building_style("_")["letter"] == "?"


def test_wall_edges_face_open_floor_only():
    grid = np.array([["empty", "empty", "empty"], ["empty", "wall", "empty"], ["empty", "wall", "empty"]])
    colors = load_sprite_rules()["colors"]
    image = render_map_image(grid, CELL)
    top, bottom, left = (0.5, 0.05), (0.5, 0.95), (0.05, 0.5)
    assert pixel(image, 1, 1, top) == rgb(colors["wallLight"])  # floor above
    assert pixel(image, 1, 1, bottom) == rgb(colors["wall"])  # a wall below
    assert pixel(image, 1, 1, left) == rgb(colors["wallEdge"])
    assert pixel(image, 2, 1, top) == rgb(colors["wall"])
    assert pixel(image, 2, 1, bottom) == rgb(colors["wallEdge"])  # the map's edge counts as open


@pytest.mark.parametrize("cell", [1, 3, 7, 16])
def test_images_are_deterministic_at_any_cell_size(cell):
    first, second = render_map_image(GRID, cell), render_map_image(GRID, cell)
    assert first.size == (GRID.shape[1] * cell, GRID.shape[0] * cell)
    assert first.tobytes() == second.tobytes()
    png = [io.BytesIO(), io.BytesIO()]
    first.save(png[0], "PNG")
    second.save(png[1], "PNG")
    assert png[0].getvalue() == png[1].getvalue()
    # Walls and agents keep their colour at the centre even when small.
    if cell >= 7:
        for row, col in ((0, 0), (3, 2)):
            probe, color = expected_probe(str(GRID[row, col]))
            assert pixel(first, row, col, probe, cell) == rgb(color)


def test_grid_lines_are_optional():
    grid = np.full((3, 3), "empty")
    floor, line = (rgb(load_sprite_rules()["colors"][k]) for k in ("floor", "grid"))
    with_lines, without = render_map_image(grid, 16), render_map_image(grid, 16, grid_lines=False)
    assert list(with_lines.getpixel((16, 5))) == line and list(with_lines.getpixel((17, 5))) == floor
    assert without.getcolors() == [(9 * 16 * 16, tuple(floor))]


def test_hashes_and_colours_match_known_values():
    # FNV-1a 32-bit test vectors, then UTF-16 code units as JavaScript's charCodeAt gives them.
    assert [hash_string(s) for s in ("", "a", "foobar")] == [0x811C9DC5, 0xE40C292C, 0xBF9CF968]
    assert hash_string("\U0001F642") == hash_string("\ud83d\ude42")
    assert [hsl_to_hex(h, 100, 50) for h in (0, 120, 240)] == ["#ff0000", "#00ff00", "#0000ff"]
    assert hsl_to_hex(0, 0, 50) == "#808080"  # 127.5 rounds up, as Math.round does
    assert shade("#808080", 0.5) == "#404040" and shade("#808080", 3) == "#ffffff"
    assert hashed_color("zebra_hut") == hsl_to_hex(hash_string("zebra_hut") % 360, 55, 55)
    assert group_color(10) == group_color(0) and group_color(-1) == load_sprite_rules()["group_colors"][-1]


def test_grid_to_replay_numbers_agents_row_major_and_groups_by_name():
    grid = np.array([["agent.red", "wall", "agent.blue"], ["altar", "agent.red", "empty"]])
    doc = grid_to_replay(grid)
    assert doc["version"] == 1 and doc["map_size"] == [3, 2] and doc["max_steps"] == 0
    assert doc["object_types"] == ["agent", "altar", "wall"]
    assert doc["object_kinds"] == ["agent", "converter", "wall"]
    agents = [o for o in doc["grid_objects"] if o["type"] == 0]
    assert [(o["agent_id"], o["row"], o["col"], o["group"]) for o in agents] == [(0, 0, 0, 1), (1, 0, 2, 0), (2, 1, 1, 1)]
    assert doc["groups"] == [{"id": 0, "name": "blue"}, {"id": 1, "name": "red"}]
    assert [o["id"] for o in doc["grid_objects"]] == list(range(5))

    ids = {"red": 3, "blue": 1}
    assert [o["group"] for o in grid_to_replay(grid, ids)["grid_objects"][:3]] == [3, 1, 3]
    with pytest.raises(ValueError, match="agent group 'red' of the map is not in groups"):
        grid_to_replay(grid, {"blue": 0})
    with pytest.raises(ValueError, match="non-empty 2-D grid"):
        grid_to_replay(np.array(["wall", "empty"]))


def test_replay_frames_draw_facing_frozen_colour_rings_and_converter_state():
    grid = np.array([["agent.a", "agent.a", "agent.a", "agent.a", "agent.a"], ["altar", "altar", "altar", "empty", "empty"]])
    doc = grid_to_replay(grid)
    agents, altars = doc["grid_objects"][:5], doc["grid_objects"][5:]
    for agent, orientation in zip(agents, [0, 1, 2, 3, 0]):
        agent["orientation"] = [[0, 0], [1, orientation]]
    agents[4]["frozen"] = [[0, 0], [1, 5]]
    agents[1]["color"] = [[0, 0], [1, 200]]
    altars[1]["cooling_down"] = [[0, 0], [1, 1]]
    altars[2]["converting"] = [[0, 0], [1, 1]]
    doc["max_steps"] = 1
    rules = load_sprite_rules()
    body, marker = rgb(group_color(0)), rgb(rules["agent"]["facing"]["up"][0]["fill"])
    image = render_replay_frame_image(doc, 1, CELL)
    ahead = {0: (0.5, 0.2), 1: (0.5, 0.8), 2: (0.2, 0.5), 3: (0.8, 0.5)}
    for col, orientation in enumerate([0, 1, 2, 3]):
        assert pixel(image, 0, col, ahead[orientation]) == marker, orientation
        behind = ahead[orientation ^ 1]  # up <-> down, left <-> right
        assert pixel(image, 0, col, behind) == body, orientation
    assert pixel(image, 0, 4, CENTRE) != body  # iced over
    assert pixel(image, 0, 1, (0.05, 0.5)) == rgb(agent_ring_color(200))  # beside the body
    assert pixel(image, 0, 0, (0.05, 0.5)) != rgb(agent_ring_color(200))

    accent = np.array(rgb(building_style("altar")["accent"]))
    cooled = np.array(pixel(image, 1, 1, CENTRE))
    alpha = round(rules["converter"]["cooling"][0]["alpha"] * 255) / 255
    blend = accent * (1 - alpha) + np.array(rgb(rules["converter"]["cooling"][0]["fill"])) * alpha
    assert np.abs(cooled - blend).max() <= 1
    assert pixel(image, 1, 0, CENTRE) == list(accent)
    assert pixel(image, 1, 2, (0.5, 0.005)) == rgb(rules["colors"]["converting"])  # the ring
    assert pixel(image, 1, 0, (0.5, 0.005)) != rgb(rules["colors"]["converting"])
    # At step 0 nothing of this has happened yet.
    assert render_replay_frame_image(doc, 0, CELL).tobytes() == render_map_image(grid, CELL).tobytes()


def test_a_recorded_episode_frame_shows_its_agents_in_group_colours():
    from tests.mettagrid.test_replay import make_env, record

    env = make_env("mettagrid/arena/combat", ["game.max_steps=40"])
    replay = record(env, "random").replay(0)
    step = 40
    image = render_replay_frame_image(replay, step, 24)
    width, height = replay["map_size"]
    assert image.size == (width * 24, height * 24)
    agents = [o for o in frame_at(replay, step) if o["type"] == 0]
    assert agents
    for agent in agents:
        color = pixel(image, agent["row"], agent["col"], CENTRE, 24)
        assert (color == rgb(group_color(agent["group"]))) == (agent["frozen"] == 0), agent


# ---------------------------------------------------------------------------------------------
# the browser


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    """Headless Chromium showing GRID in MettaScope (a one-frame replay from grid_to_replay)."""
    from tests.eval.browser import chromium, skip_without_chromium

    skip_without_chromium()
    from tests.viewer.test_viewer_page import open_viewer, serve_viewer

    root = tmp_path_factory.mktemp("map_image")
    (root / "grid.json").write_text(json.dumps(grid_to_replay(GRID)))
    with serve_viewer(root) as base, chromium(1100, 800) as driver:
        open_viewer(driver, base, "replay=/replays/grid.json")
        driver.execute_script("mettascope.selectAgent(-1); mettascope.flush()")
        yield driver


def test_palette_js_and_python_agree_on_every_colour_rule(viewer):
    rules = load_sprite_rules()
    names = ["", "a", "foobar", "zebra_hut", "mine", "mine_purple", "lab_red", "generator_blue", "constructor",
             "toString", "__proto__", "h\u00e9llo", "\U0001F642 smile", "9lives", "_", "x" * 40]
    got = viewer.execute_async_script("""
        const [names, done] = arguments;
        import('/static/palette.js').then((p) => done({
          hashes: names.map((n) => p.hashString(n)),
          hashed: names.map((n) => [p.hashedColor(n), p.hashedColor(n, 70, 72), p.hashedColor(n, 45, 32)]),
          styles: names.map((n) => p.buildingStyle(n)),
          rings: Array.from({length: 256}, (_, i) => p.agentColorRing(i)),
          groups: Array.from({length: 12}, (_, i) => p.groupColor(i)),
          colors: p.COLORS,
        }));""", names)
    assert got["hashes"] == [hash_string(n) for n in names]
    assert got["hashed"] == [[hashed_color(n), hashed_color(n, 70, 72), hashed_color(n, 45, 32)] for n in names]
    assert got["styles"] == [building_style(n) for n in names]
    assert got["rings"] == [agent_ring_color(i) for i in range(256)]
    assert got["groups"] == [group_color(i) for i in range(12)]
    assert got["colors"] == rules["colors"]


def test_mettascope_and_pillow_draw_the_same_colour_in_every_cell(viewer):
    from tests.viewer.test_viewer_page import PIXEL_JS

    image = render_map_image(GRID, CELL)
    for (row, col), name in np.ndenumerate(GRID):
        probe, color = expected_probe(str(name))
        spot = viewer.execute_script("return mettascope.cellToCanvas(arguments[0], arguments[1])", row, col)
        x, y = spot["x"] + (probe[0] - 0.5) * spot["size"], spot["y"] + (probe[1] - 0.5) * spot["size"]
        browser = viewer.execute_script(PIXEL_JS, x, y, "map")
        assert browser == pixel(image, row, col, probe) == rgb(color), (row, col, name)
