"""MettaScope shows who owns a CoGsGuard building: the replay's `team` field, in real Chromium.

A `cogsguard_arena.small` episode played by the scripted `role` teams is recorded; at a step
where the cogs hold a junction and another junction is neutral, the page must report the owner
(automation API, building panel, hover line) and draw the owned junction in the cogs' group
colour (a border and a tint), unlike the neutral one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.eval.browser import chromium, save_screenshot, skip_without_chromium

skip_without_chromium()

from selenium.webdriver.common.by import By

from mettagrid.replay import frame_at, load_replay
from tests.viewer.test_viewer_page import (
    PIXEL_JS,
    click_canvas,
    open_viewer,
    page_errors,
    serve_viewer,
    wait_for,
)

BORDER = (0.09, 0.5)  # in a building's cell (x, y in cell units): on the team border's left side
BODY = (0.22, 0.5)  # inside the border, left of the letter icon: the (tinted) body


def record_cogsguard(path: Path, steps: int = 120) -> dict:
    from metta.agent.policy_uri import builtin_spec
    from metta.sim.replay import record_episode, write_replay
    from mettagrid.cogsguard.missions import load_mission

    config = load_mission("cogsguard_arena.small", max_steps=steps)
    spec = builtin_spec("role")
    replay = record_episode(config, lambda env: spec.make_actor(env, "cpu", 0), seed=0,
                            metadata={"env": "cogsguard/arena/small", "policy": "role"})
    write_replay(replay, path)
    return load_replay(path)


def owned_and_neutral_junction(replay: dict) -> tuple[int, dict, dict]:
    """A step with a cogs-held junction and a neutral one, both idle (not converting or cooling
    down, so that only the owner tells them apart)."""
    types = replay["object_types"]
    cogs = next(g["id"] for g in replay["groups"] if g["name"] == "cogs")
    for step in range(replay["max_steps"] + 1):
        junctions = [o for o in frame_at(replay, step) if types[o["type"]] == "junction"
                     and not o["converting"] and not o["cooling_down"]]
        owned = [j for j in junctions if j["team"] == cogs]
        neutral = [j for j in junctions if j["team"] == 0]
        if owned and neutral:
            return step, owned[0], neutral[0]
    raise AssertionError("the cogs never held an idle junction next to an idle neutral one")


@pytest.fixture(scope="module")
def cogsguard(tmp_path_factory):
    root = tmp_path_factory.mktemp("cogsguard_replays")
    replay = record_cogsguard(root / "cogsguard.json.z")
    with serve_viewer(root) as base, chromium(1300, 900) as driver:
        yield driver, base, replay


def cell_pixel(driver, row: int, col: int, probe: tuple[float, float]) -> list[int]:
    spot = driver.execute_script("return mettascope.cellToCanvas(arguments[0], arguments[1])", row, col)
    x, y = spot["x"] + (probe[0] - 0.5) * spot["size"], spot["y"] + (probe[1] - 0.5) * spot["size"]
    return driver.execute_script(PIXEL_JS, x, y, "map")


def test_the_viewer_reports_and_draws_building_owners(cogsguard):
    driver, base, replay = cogsguard
    step, owned, neutral = owned_and_neutral_junction(replay)
    cogs = owned["team"]
    open_viewer(driver, base, "replay=/replays/cogsguard.json.z")
    driver.execute_script("mettascope.selectAgent(-1); mettascope.setStep(arguments[0])", step)

    # The automation API: the owner's id and name, and neutral for the other junction.
    got = driver.execute_script("return mettascope.objectAt(arguments[0], arguments[1])", step, owned["id"])
    assert got["type"] == "junction" and got["team"] == cogs and got["teamName"] == "cogs"
    got = driver.execute_script("return mettascope.objectAt(arguments[0], arguments[1])", step, neutral["id"])
    assert got["team"] == 0 and got["teamName"] is None
    # Before its first alignment the junction was neutral.
    assert driver.execute_script("return mettascope.objectAt(0, arguments[0]).team", owned["id"]) == 0

    # Pixels: the owned junction's border is the cogs' agent colour, the neutral one's is not,
    # and the owner's tint makes the body differ too.
    cogs_rgb = driver.execute_script("return mettascope.groupColor(arguments[0])", cogs)
    owned_border = cell_pixel(driver, owned["row"], owned["col"], BORDER)
    neutral_border = cell_pixel(driver, neutral["row"], neutral["col"], BORDER)
    assert max(abs(a - b) for a, b in zip(owned_border, cogs_rgb)) <= 8, (owned_border, cogs_rgb)
    assert max(abs(a - b) for a, b in zip(neutral_border, cogs_rgb)) > 40, (neutral_border, cogs_rgb)
    assert cell_pixel(driver, owned["row"], owned["col"], BODY) != cell_pixel(driver, neutral["row"], neutral["col"], BODY)
    # Back at step 0 the same junction is drawn as a neutral one.
    driver.execute_script("mettascope.setStep(0)")
    assert cell_pixel(driver, owned["row"], owned["col"], BORDER) != owned_border
    driver.execute_script("mettascope.setStep(arguments[0])", step)

    # Hovering shows the owner on the hover line; clicking opens the building panel with it.
    spot = driver.execute_script("return mettascope.cellToCanvas(arguments[0], arguments[1])", owned["row"], owned["col"])
    click_canvas(driver, "map", spot["x"], spot["y"])
    wait_for(driver, f"return mettascope.selectedObject === {owned['id']}", 3, "clicking the junction did not select it")
    driver.execute_script("mettascope.flush()")
    assert "cogs" in driver.find_element(By.ID, "hover-info").text
    owner = driver.find_element(By.ID, "object-owner")
    assert owner.get_attribute("data-team") == str(cogs)
    assert owner.text == f"cogs ({cogs})"

    # The neutral junction's panel says so.
    assert driver.execute_script("return mettascope.selectObject(arguments[0])", neutral["id"]) == neutral["id"]
    owner = driver.find_element(By.ID, "object-owner")
    assert owner.get_attribute("data-team") == "0" and owner.text == "neutral"
    driver.execute_script("mettascope.selectObject(arguments[0])", owned["id"])
    save_screenshot(driver, "viewer_cogsguard.png")
    assert page_errors(driver) == []


def test_replays_without_team_fields_still_load(cogsguard):
    """An older replay (no `team` field anywhere) draws its buildings as neutral."""
    driver, base, replay = cogsguard
    step, owned, _ = owned_and_neutral_junction(replay)
    # Its own page: under pytest-xdist this test may run on another worker than the one above.
    open_viewer(driver, base, "replay=/replays/cogsguard.json.z")
    old = {**replay, "grid_objects": [{k: v for k, v in o.items() if k != "team"} for o in replay["grid_objects"]]}
    driver.execute_script("mettascope.loadDocument(arguments[0], 'old'); mettascope.setStep(arguments[1])", old, step)
    got = driver.execute_script("return mettascope.objectAt(arguments[0], arguments[1])", step, owned["id"])
    assert "team" not in got and "teamName" not in got
    cogs_rgb = driver.execute_script("return mettascope.groupColor(arguments[0])", owned["team"])
    border = cell_pixel(driver, owned["row"], owned["col"], BORDER)
    assert max(abs(a - b) for a, b in zip(border, cogs_rgb)) > 40
    assert driver.execute_script("return mettascope.selectObject(arguments[0])", owned["id"]) == owned["id"]
    assert driver.find_elements(By.ID, "object-owner") == []
    assert page_errors(driver) == []
