"""One glyph table for every renderer (issue #20): every object type of every shipped env has
a distinct look, and the terminal, the Pillow images and the browser viewer all read the same
row for it."""

from __future__ import annotations

import functools
import tempfile
import unicodedata
from pathlib import Path

from mettagrid.env_configs import compose_env_config, list_env_names
from mettagrid.map_builder.ascii import CELL_TO_CHAR
from mettagrid.renderer.glyphs import ansi_color, glyph_table, item_colors, team_colors
from mettagrid.renderer.image import building_style, group_color
from mettagrid.renderer.terminal import render_grid


@functools.cache
def shipped_types() -> dict[str, tuple[set[str], list[str]]]:
    """env name -> (object types, resource names), from every shipped env config."""
    out = {}
    for name in list_env_names():
        game = compose_env_config(name).game
        out[name] = (set(game.objects), list(game.inventory_item_names))
    return out


def all_object_types() -> set[str]:
    return set().union(*(types for types, _ in shipped_types().values()))


def test_every_shipped_object_type_has_a_distinct_glyph():
    table = glyph_table()
    types = all_object_types()
    assert {"hub", "junction", "charger", "scout_station", "scrambler_station", "altar", "mine_red"} <= types
    assert types - table.keys() == set(), "object types without a row in sprites.json glyphs"
    chars = [table[t]["char"] for t in types]
    assert len(set(chars)) == len(chars), sorted(chars)
    looks = [(table[t]["symbol"], table[t]["color"]) for t in types]
    assert len(set(looks)) == len(looks), "two types share a terminal symbol and colour"
    for t in types:
        assert len(table[t]["char"]) == 1 and table[t]["char"].isascii(), t
        symbol = table[t]["symbol"]
        assert len(symbol) == 1 and unicodedata.east_asian_width(symbol) not in "WF", (t, symbol)  # one column


def test_map_characters_agree_with_the_glyph_table():
    for name, row in glyph_table().items():
        if name in CELL_TO_CHAR:
            assert CELL_TO_CHAR[name] == row["char"], name


def test_resources_and_teams_have_distinct_colours():
    colors = item_colors()
    for env, (_, resources) in shipped_types().items():
        assert set(resources) <= colors.keys(), (env, set(resources) - colors.keys())
        used = [colors[r] for r in resources]
        assert len(set(used)) == len(used), env
    assert colors["ore"] != colors["influence"]
    teams = team_colors()
    assert len(set(teams)) == len(teams)


def test_terminal_and_pillow_read_the_same_rows():
    for name, row in glyph_table().items():
        objects = [{"type_name": name, "row": 0, "col": 0}]
        assert render_grid(objects, 1, 1, "nethack") == row["char"]
        assert render_grid(objects, 1, 1, "miniscope") == f"{ansi_color(row['color'])}{row['symbol']}\x1b[0m"
        if name not in ("wall", "block"):  # walls and blocks have fixed tiles, not building styles
            style = building_style(name)
            assert (style["accent"], style["letter"]) == (row["color"], row["char"]), name
    agent = {"type_name": "agent", "row": 0, "col": 0, "orientation": 0}
    for group in range(len(team_colors())):
        assert render_grid([{**agent, "group": group}], 1, 1, "miniscope").startswith(ansi_color(group_color(group)))


def test_a_cogsguard_env_renders_without_unknown_cells():
    from mettagrid.vec_env import MettaGridVecEnv

    env = MettaGridVecEnv(compose_env_config("cogsguard/arena/small"), num_envs=1, seed=0)
    env.reset()
    assert set(env.object_type_names) - {"agent"} <= glyph_table().keys()
    height, width = env.map_size()
    text = render_grid(env.grid_objects(0), height, width, "nethack")
    assert "?" not in text and "H" in text and "J" in text
    env.close()


def test_the_browser_reads_the_same_rows():
    from tests.eval.browser import chromium, skip_without_chromium
    from tests.viewer.test_viewer_page import serve_viewer

    skip_without_chromium()
    with tempfile.TemporaryDirectory() as tmp, serve_viewer(Path(tmp)) as url, chromium() as driver:
        driver.get(f"{url}/")
        driver.set_script_timeout(20)
        got = driver.execute_async_script(
            """const done = arguments[arguments.length - 1];
            import('/static/palette.js').then((p) => done({
              styles: Object.fromEntries(Object.keys(p.GLYPHS).map((n) => [n, p.buildingStyle(n)])),
              groups: [...Array(p.GROUP_COLORS.length).keys()].map((g) => p.groupColor(g)),
              items: Object.fromEntries(Object.keys(p.SPRITES.item_colors).map((n) => [n, p.itemColor(n)])),
            })).catch((e) => done({error: String(e)}));"""
        )
        assert "error" not in got, got
    for name, row in glyph_table().items():
        if name not in ("wall", "block"):
            assert (got["styles"][name]["accent"], got["styles"][name]["letter"]) == (row["color"], row["char"]), name
    assert got["groups"] == team_colors()
    assert got["items"] == item_colors()
