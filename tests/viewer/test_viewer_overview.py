"""MettaScope's overview (issue #20): scoreboard, team reward chart, all-agents table and the
one-row-per-agent timeline, checked against the recorded episode in real headless Chromium.

METTA_SAVE_SCREENSHOTS=1 also saves docs/images/mettascope_overview.png.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.eval.browser import chromium, save_screenshot, skip_without_chromium

skip_without_chromium()

from selenium.webdriver.common.by import By

from mettagrid.replay import frame_at
from tests.viewer.test_viewer_page import click_canvas, open_viewer, page_errors, record_replay, serve_viewer


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("overview")
    replay = record_replay(root / "combat.json.z", "mettagrid/arena/combat", 120)
    with serve_viewer(root) as base, chromium(1400, 1000) as driver:
        open_viewer(driver, base, "replay=/replays/combat.json.z")
        yield driver, replay


def agents_of(replay: dict, step: int) -> list[dict]:
    return sorted((o for o in frame_at(replay, step) if "agent_id" in o), key=lambda o: o["agent_id"])


def test_scoreboard_totals_match_the_episode(page):
    driver, replay = page
    for step in (0, 60, replay["max_steps"]):
        driver.execute_script("mettascope.setStep(arguments[0])", step)
        expected = defaultdict(float)
        for agent in agents_of(replay, step):
            expected[agent["group"]] += agent["total_reward"]
        rows = driver.find_elements(By.CSS_SELECTOR, "#scoreboard tbody tr")
        got = {int(r.get_attribute("data-group")): float(r.get_attribute("data-total")) for r in rows}
        assert got == pytest.approx(dict(expected))
        totals = [float(r.get_attribute("data-total")) for r in rows]
        assert totals == sorted(totals, reverse=True)  # best team first
    assert any(v > 0 for v in expected.values()), "the episode should score something"


def test_reward_chart_has_a_line_per_team_ending_at_its_total(page):
    driver, replay = page
    last = agents_of(replay, replay["max_steps"])
    finals = defaultdict(float)
    for agent in last:
        finals[agent["group"]] += agent["total_reward"]
    lines = driver.find_elements(By.CSS_SELECTOR, "#reward-chart polyline")
    got = {int(line.get_attribute("data-group")): float(line.get_attribute("data-final")) for line in lines}
    assert got == pytest.approx(dict(finals))
    chart = driver.find_element(By.ID, "reward-chart")
    assert chart.size["width"] > 200 and chart.size["height"] >= 100


def test_all_agents_table_matches_and_click_selects(page):
    driver, replay = page
    step = 90
    driver.execute_script("mettascope.setStep(arguments[0])", step)
    rows = driver.find_elements(By.CSS_SELECTOR, "#agents-table tbody tr")
    agents = agents_of(replay, step)
    assert len(rows) == len(agents) > 1
    names = replay["item_names"]
    for row, agent in zip(rows, agents):
        cells = [c.get_attribute("textContent") for c in row.find_elements(By.TAG_NAME, "td")]
        assert int(cells[0]) == agent["agent_id"]
        assert float(row.get_attribute("data-reward")) == pytest.approx(agent["total_reward"])
        assert cells[3] == f"{agent['row']},{agent['col']}"
        assert cells[4] == " ".join(f"{names[i]}×{c}" for i, c in agent["inventory"])
    target = rows[-1]
    driver.execute_script("arguments[0].scrollIntoView()", target)
    target.click()
    assert driver.execute_script("return mettascope.selectedAgent") == agents[-1]["agent_id"]
    assert "selected" in target.get_attribute("class")


def test_multi_agent_timeline_click_selects_agent_and_seeks(page):
    driver, replay = page
    n = len(agents_of(replay, 0))
    canvas = driver.find_element(By.ID, "agents-timeline")
    width, height = canvas.size["width"], canvas.size["height"]
    assert height >= 24 and abs(width - canvas.find_element(By.XPATH, "..").size["width"]) < 30
    row = 2
    click_canvas(driver, "agents-timeline", width * 0.5, (row + 0.5) * height / n)
    assert driver.execute_script("return mettascope.selectedAgent") == agents_of(replay, 0)[row]["agent_id"]
    assert abs(driver.execute_script("return mettascope.step") - replay["max_steps"] / 2) <= replay["max_steps"] / width + 1
    assert page_errors(driver) == []
    driver.execute_script("document.getElementById('side').scrollTop = 0")  # the scoreboard in view
    save_screenshot(driver, "mettascope_overview.png")
