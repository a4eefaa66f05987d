"""MettaScope, the browser replay viewer (metta/viewer/static/), in real headless Chromium.

Replays come from the real environment (ReplayRecorder) plus one synthetic 100x100 map with
100 agents and 1000 steps built directly in the replay format. The page's state is read through
its automation API (`window.mettascope`), its panel elements and the pixels of its canvases.
METTA_SAVE_SCREENSHOTS=1 saves docs/images/viewer_arena.png.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
import urllib.parse
import zlib
from pathlib import Path

import pytest

from tests.eval.browser import chromium, save_screenshot, skip_without_chromium

skip_without_chromium()

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from metta.sim.replay import write_replay
from metta.viewer.server import ViewerServer
from mettagrid.replay import frame_at, load_replay

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "metta" / "viewer" / "static"
ORIENTATIONS = ["up", "down", "left", "right"]


# ---------------------------------------------------------------------------------------------
# serving the page


@contextlib.contextmanager
def serve_viewer(replay_dir: Path):
    """The real viewer server with every file of `replay_dir` published; yields the base URL."""
    server = ViewerServer(port=0)
    base = server.start()
    for path in sorted(Path(replay_dir).iterdir()):
        server.publish(path)
    try:
        yield base
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# replays


def record_replay(path: Path, env_name: str, steps: int, policy: str = "scripted") -> dict:
    """Run the real env for `steps` steps with a scripted policy and write its replay."""
    from mettagrid.env_configs import compose_env_config
    from mettagrid.replay import ReplayRecorder
    from mettagrid.scripted_policies import SCRIPTED_POLICIES
    from mettagrid.vec_env import MettaGridVecEnv

    cfg = compose_env_config(env_name, [f"game.max_steps={steps}"])
    cfg = cfg.model_copy(update={"desync_episodes": False})
    env = MettaGridVecEnv(cfg, num_envs=1, seed=0, auto_reset=False)
    pol = SCRIPTED_POLICIES[policy](env, seed=0)
    rec = ReplayRecorder(env, metadata={"env": env_name, "policy": policy})
    obs = env.reset()
    rec.after_step()
    while rec.recording(0):
        obs, *_ = env.step(pol.act(obs))
        rec.after_step()
    write_replay(rec.replay(0), path)
    return load_replay(path)


class _Track:
    """A field as a change list: `set` records a change when the value differs."""

    def __init__(self, value, always_list: bool = False):
        self.changes = [[0, value]]
        self.always_list = always_list

    def set(self, step: int, value) -> None:
        if value != self.changes[-1][1]:
            if self.changes[-1][0] == step:
                self.changes[-1][1] = value
            else:
                self.changes.append([step, value])

    def field(self):
        return self.changes if self.always_list or len(self.changes) > 1 else self.changes[0][1]


def synthetic_replay(width=100, height=100, num_agents=100, steps=1000, seed=0) -> dict:
    """A replay document in format version 1: random-walk agents on a map with ~10% walls,
    mines and altars that convert and cool down, occasional freezes and items."""
    rng = random.Random(seed)
    action_names = ["noop", "move", "rotate", "get_items", "attack"]
    item_names = ["ore_red", "ore_blue", "heart"]
    blocked = set()
    objects = []
    for r in range(height):
        for c in range(width):
            border = r in (0, height - 1) or c in (0, width - 1)
            if border or rng.random() < 0.09:
                blocked.add((r, c))
    free = [(r, c) for r in range(height) for c in range(width) if (r, c) not in blocked]
    rng.shuffle(free)
    agent_cells = free[:num_agents]
    building_cells = free[num_agents:num_agents + 60]
    dr, dc = [-1, 1, 0, 0], [0, 0, -1, 1]
    occupied = set(agent_cells) | set(building_cells) | blocked

    tracks = []
    for r, c in agent_cells:
        tracks.append({"row": _Track(r), "col": _Track(c), "orientation": _Track(rng.randrange(4)),
                       "frozen": _Track(0), "color": _Track(0), "action_success": _Track(0),
                       "action": _Track([0, 0], True), "inventory": _Track([], True),
                       "reward": _Track(0.0), "total_reward": _Track(0.0)})
    state = [{"r": r, "c": c, "o": tracks[i]["orientation"].changes[0][1], "frozen": 0, "inv": {}, "total": 0.0}
             for i, (r, c) in enumerate(agent_cells)]
    for t in range(1, steps + 1):
        for i, s in enumerate(state):
            tr = tracks[i]
            reward = 0.0
            if s["frozen"] > 0:
                s["frozen"] -= 1
                action, ok = [0, 0], False
            else:
                roll = rng.random()
                if roll < 0.55:
                    nr, nc = s["r"] + dr[s["o"]], s["c"] + dc[s["o"]]
                    ok = (nr, nc) not in occupied
                    if ok:
                        occupied.discard((s["r"], s["c"]))
                        occupied.add((nr, nc))
                        s["r"], s["c"] = nr, nc
                    action = [1, 0]
                elif roll < 0.8:
                    s["o"] = rng.randrange(4)
                    action, ok = [2, s["o"]], True
                elif roll < 0.9:
                    item = rng.randrange(len(item_names))
                    s["inv"][item] = s["inv"].get(item, 0) + 1
                    if item == 2:
                        reward = 1.0
                    action, ok = [3, 0], True
                elif roll < 0.91:
                    s["frozen"] = 10
                    action, ok = [4, 0], False
                else:
                    action, ok = [0, 0], True
            s["total"] += reward
            tr["row"].set(t, s["r"])
            tr["col"].set(t, s["c"])
            tr["orientation"].set(t, s["o"])
            tr["frozen"].set(t, s["frozen"])
            tr["action"].set(t, action)
            tr["action_success"].set(t, int(ok))
            tr["inventory"].set(t, [[k, v] for k, v in sorted(s["inv"].items()) if v])
            tr["reward"].set(t, reward)
            tr["total_reward"].set(t, round(s["total"], 5))
    for i, tr in enumerate(tracks):
        entry = {"id": i, "type": 0, "agent_id": i, "group": i % 4}
        entry.update({name: track.field() for name, track in tr.items()})
        entry["glyph"] = 0
        entry["stats"] = {"action.move.success": float(i), "reward": state[i]["total"]}
        objects.append(entry)
    next_id = num_agents
    for (r, c) in sorted(blocked):
        objects.append({"id": next_id, "type": 1, "row": r, "col": c})
        next_id += 1
    for k, (r, c) in enumerate(building_cells):
        converting, cooling = _Track(0), _Track(0)
        period = 20 + k % 17
        for t in range(1, steps + 1):
            phase = (t + k) % period
            converting.set(t, int(phase < 3))
            cooling.set(t, int(3 <= phase < 10))
        objects.append({"id": next_id, "type": 3 if k % 3 else 4, "row": r, "col": c, "color": 0,
                        "converting": converting.field(), "cooling_down": cooling.field(),
                        "conversions_started": 0, "inventory": [[0, [[0, 1]]]], "input": [[0, []]]})
        next_id += 1
    return {
        "version": 1, "action_names": action_names, "item_names": item_names,
        "object_types": ["agent", "wall", "block", "mine_red", "altar"],
        "object_kinds": ["agent", "wall", "block", "converter", "converter"],
        "groups": [{"id": g, "name": f"team_{g}"} for g in range(4)],
        "map_size": [width, height], "num_agents": num_agents, "step_limit": steps, "max_steps": steps,
        "created_at": "2025-01-01T00:00:00+00:00", "metadata": {"synthetic": True}, "grid_objects": objects,
    }


# ---------------------------------------------------------------------------------------------
# fixtures and helpers


@pytest.fixture(scope="module")
def replays(tmp_path_factory):
    root = tmp_path_factory.mktemp("replays")
    docs = {
        "arena": record_replay(root / "arena.json.z", "mettagrid/arena/basic", 150),
        "nav": record_replay(root / "nav.json.z", "mettagrid/navigation", 80),
        "big": synthetic_replay(),
    }
    (root / "big.json.z").write_bytes(zlib.compress(json.dumps(docs["big"], separators=(",", ":")).encode(), 6))
    (root / "garbage.json.z").write_bytes(b"\x00\x01 this is not a replay at all")
    (root / "v2.json.z").write_bytes(zlib.compress(json.dumps({"version": 2, "grid_objects": []}).encode()))
    (root / "list.json").write_text("[1, 2, 3]")
    return root, docs


@pytest.fixture(scope="module")
def base_url(replays):
    with serve_viewer(replays[0]) as url:
        yield url


@pytest.fixture(scope="module")
def driver():
    with chromium(1300, 900) as d:
        yield d


def wait_for(driver, script: str, timeout: float = 10.0, message: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(script)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"timed out waiting for: {script}")
        time.sleep(0.05)


def open_viewer(driver, base_url: str, query: str, expect: str = "loaded"):
    driver.get(f"{base_url}/?{query}")
    state = wait_for(driver, "const s = document.body.dataset.state; return s === 'loaded' || s === 'error' ? s : null",
                     message=f"page never finished loading ({query})")
    assert state == expect, driver.execute_script("return document.getElementById('error-text').textContent")


def page_errors(driver) -> list[str]:
    """Severe browser log entries other than expected failed fetches."""
    return [e["message"] for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]


PIXEL_JS = """
const [x, y] = arguments;
const canvas = document.getElementById(arguments[2] || 'map');
const dpr = canvas.width / canvas.getBoundingClientRect().width;
const d = canvas.getContext('2d').getImageData(Math.floor(x * dpr), Math.floor(y * dpr), 1, 1).data;
return [d[0], d[1], d[2]];
"""


def map_pixel(driver, row: int, col: int) -> list[int]:
    spot = driver.execute_script("return mettascope.cellToCanvas(arguments[0], arguments[1])", row, col)
    return driver.execute_script(PIXEL_JS, spot["x"], spot["y"], "map")


def python_agent(replay: dict, step: int, agent_id: int) -> dict:
    obj = frame_at(replay, step)[agent_id]
    names, actions = replay["item_names"], replay["action_names"]
    return {
        "row": obj["row"], "col": obj["col"], "orientation": obj["orientation"], "frozen": obj["frozen"],
        "inventory": {names[i]: c for i, c in obj["inventory"]}, "totalReward": obj["total_reward"],
        "action": {"name": actions[obj["action"][0]], "arg": obj["action"][1], "success": bool(obj["action_success"])},
    }


def js_agent(driver, step: int, agent_id: int) -> dict:
    a = driver.execute_script("return mettascope.agentAt(arguments[0], arguments[1])", step, agent_id)
    keys = ("row", "col", "orientation", "frozen", "inventory", "totalReward")
    out = {k: a[k] for k in keys}
    out["action"] = {k: a["action"][k] for k in ("name", "arg", "success")}
    return out


def click_canvas(driver, element_id: str, x: float, y: float) -> None:
    """A real mouse click at CSS point (x, y) of an element (Selenium offsets are from its centre)."""
    element = driver.find_element(By.ID, element_id)
    rect = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height]", element)
    ActionChains(driver).move_to_element_with_offset(element, round(x - rect[0] / 2), round(y - rect[1] / 2)) \
        .click().perform()


# ---------------------------------------------------------------------------------------------
# tests


def test_replay_state_panel_and_pixels_match_the_recorded_episode(driver, base_url, replays):
    _, docs = replays
    replay = docs["arena"]
    open_viewer(driver, base_url, "replay=/replays/arena.json.z")
    assert driver.execute_script("return mettascope.maxSteps") == replay["max_steps"]
    assert driver.find_element(By.ID, "step-label").text == f"step 0 / {replay['max_steps']}"

    num_agents = replay["num_agents"]
    for step in (0, 1, 37, 90, replay["max_steps"]):
        driver.execute_script("mettascope.setStep(arguments[0])", step)
        for agent_id in sorted({0, 4, 9, 13, num_agents - 1}):
            js = js_agent(driver, step, agent_id)
            py = python_agent(replay, step, agent_id)
            assert js["totalReward"] == pytest.approx(py.pop("totalReward"))
            js.pop("totalReward")
            if step == 0:  # no action before the first step
                js.pop("action"), py.pop("action")
            assert js == py, (step, agent_id)

    # Pick an agent that holds items and has earned reward at the last step, and select it by
    # clicking it on the map.
    step = replay["max_steps"]
    frame = frame_at(replay, step)
    chosen = next(o for o in frame[:num_agents] if o["inventory"] and o["total_reward"] > 0 and not o["frozen"])
    agent_id = chosen["agent_id"]
    driver.execute_script("mettascope.selectAgent(-1); mettascope.setStep(arguments[0])", step)
    spot = driver.execute_script("return mettascope.cellToCanvas(arguments[0], arguments[1])",
                                 chosen["row"], chosen["col"])
    click_canvas(driver, "map", spot["x"], spot["y"])
    wait_for(driver, f"return mettascope.selectedAgent === {agent_id}", 3, "clicking the agent did not select it")
    driver.execute_script("mettascope.flush()")

    panel = driver.find_element(By.ID, "agent-panel")
    assert panel.get_attribute("data-agent") == str(agent_id)
    assert driver.find_element(By.ID, "agent-id").text == str(agent_id)
    assert driver.find_element(By.ID, "agent-position").text == f"row {chosen['row']}, col {chosen['col']}"
    assert driver.find_element(By.ID, "agent-orientation").text == ORIENTATIONS[chosen["orientation"]]
    assert float(driver.find_element(By.ID, "agent-total-reward").text) == pytest.approx(chosen["total_reward"], abs=1e-3)
    assert float(driver.find_element(By.ID, "agent-reward").text) == pytest.approx(chosen["reward"], abs=1e-3)
    items = {li.get_attribute("data-item"): li.find_element(By.CLASS_NAME, "count").text
             for li in driver.find_elements(By.CSS_SELECTOR, "#agent-inventory li[data-item]")}
    assert items == {replay["item_names"][i]: str(c) for i, c in chosen["inventory"]}
    action_text = driver.find_element(By.ID, "agent-action").text
    action_name = replay["action_names"][chosen["action"][0]]
    assert action_text.startswith(f"{action_name} {chosen['action'][1]}")
    assert ("success" if chosen["action_success"] else "failed") in action_text
    stats_rows = driver.find_elements(By.CSS_SELECTOR, "#agent-stats tbody tr")
    assert len(stats_rows) == len(replay["grid_objects"][agent_id]["stats"]) > 0

    # Pixels: the agent's cell centre is its group colour; a wall cell is the wall colour; an
    # empty cell is the floor colour.
    palette = driver.execute_script("return mettascope.palette")
    group_rgb = driver.execute_script("return mettascope.groupColor(arguments[0])", chosen["group"])
    assert group_rgb not in (palette["floor"], palette["wall"])
    for obj in frame[:num_agents]:
        if not obj["frozen"]:
            assert map_pixel(driver, obj["row"], obj["col"]) == group_rgb, obj["agent_id"]
    wall_types = {i for i, kind in enumerate(replay["object_kinds"]) if kind == "wall"}
    walls = [o for o in frame if o["type"] in wall_types]
    occupied = {(o["row"], o["col"]) for o in frame}
    inner_walls = [w for w in walls if 0 < w["row"] < replay["map_size"][1] - 1][:5]
    for wall in inner_walls:
        assert map_pixel(driver, wall["row"], wall["col"]) == palette["wall"]
    width, height = replay["map_size"]
    empty = next((r, c) for r in range(height) for c in range(width) if (r, c) not in occupied)
    assert map_pixel(driver, *empty) == palette["floor"]

    driver.execute_script("mettascope.setStep(40)")
    save_screenshot(driver, "viewer_arena.png")
    assert page_errors(driver) == []


def test_play_pause_step_scrub_and_speed(driver, base_url, replays):
    _, docs = replays
    max_steps = docs["arena"]["max_steps"]
    open_viewer(driver, base_url, "replay=/replays/arena.json.z")
    label = driver.find_element(By.ID, "step-label")

    Select(driver.find_element(By.ID, "speed")).select_by_value("60")
    assert driver.execute_script("return mettascope.speed") == 60
    driver.find_element(By.ID, "play-button").click()
    wait_for(driver, "return mettascope.step >= 10", 5, "playing did not advance the step")
    driver.find_element(By.ID, "play-button").click()
    assert driver.execute_script("return mettascope.playing") is False
    paused_at = driver.execute_script("return mettascope.step")
    time.sleep(0.3)
    assert driver.execute_script("return mettascope.step") == paused_at
    assert label.text == f"step {paused_at} / {max_steps}"

    # Space toggles playback; '.' and ',' step; the buttons step.
    body = driver.find_element(By.TAG_NAME, "body")
    ActionChains(driver).send_keys(Keys.SPACE).perform()
    wait_for(driver, f"return mettascope.step > {paused_at}", 5, "Space did not start playback")
    ActionChains(driver).send_keys(Keys.SPACE).perform()
    assert driver.execute_script("return mettascope.playing") is False
    driver.execute_script("mettascope.setStep(50)")
    body.send_keys(".")
    body.send_keys(".")
    assert driver.execute_script("return mettascope.step") == 52
    body.send_keys(",")
    assert driver.execute_script("return mettascope.step") == 51
    driver.find_element(By.ID, "step-forward").click()
    assert driver.execute_script("return mettascope.step") == 52
    driver.find_element(By.ID, "step-back").click()
    driver.find_element(By.ID, "step-back").click()
    assert driver.execute_script("return mettascope.step") == 50

    # The slider: an input event and a real click both set the step.
    slider = driver.find_element(By.ID, "scrub")
    driver.execute_script("arguments[0].value = 77; arguments[0].dispatchEvent(new Event('input'))", slider)
    assert driver.execute_script("return mettascope.step") == 77
    wait_for(driver, f"return document.getElementById('step-label').textContent === 'step 77 / {max_steps}'", 2)
    width = slider.size["width"]
    ActionChains(driver).move_to_element_with_offset(slider, round(width * 0.25), 0).click().perform()
    step = driver.execute_script("return mettascope.step")
    assert abs(step - 0.75 * max_steps) <= 0.06 * max_steps, step
    assert int(slider.get_attribute("value")) == step

    # Playing to the end stops there; play again restarts from the beginning.
    driver.execute_script("mettascope.setSpeed(120); mettascope.setStep(arguments[0]); mettascope.play()", max_steps - 15)
    wait_for(driver, "return !mettascope.playing", 5, "playback did not stop at the last step")
    assert driver.execute_script("return mettascope.step") == max_steps
    driver.execute_script("mettascope.setSpeed(1); mettascope.play()")
    assert driver.execute_script("return mettascope.step") == 0
    driver.execute_script("mettascope.pause()")
    assert page_errors(driver) == []


def test_timeline_colours_and_click_to_seek(driver, base_url, replays):
    _, docs = replays
    replay = docs["nav"]
    n = replay["max_steps"] + 1
    open_viewer(driver, base_url, "replay=/replays/nav.json.z")
    Select(driver.find_element(By.ID, "agent-select")).select_by_value("0")
    assert driver.execute_script("return mettascope.selectedAgent") == 0
    width, height = driver.execute_script(
        "const r = document.getElementById('timeline').getBoundingClientRect(); return [r.width, r.height]")

    # Each step's column has its action's colour (failed steps darker).
    driver.execute_script("mettascope.setStep(0)")
    agent = replay["grid_objects"][0]
    checked = 0
    for step in range(1, n, 7):
        obj = frame_at(replay, step)[0]
        if not obj["action_success"]:
            continue
        name = replay["action_names"][obj["action"][0]]
        x = (step + 0.5) / n * width
        if abs(x - (0.5 / n) * width) < 4:
            continue  # under the cursor
        pixel = driver.execute_script(PIXEL_JS, x, height * 0.5, "timeline")
        assert pixel == driver.execute_script("return mettascope.actionColor(arguments[0])", name), (step, name)
        checked += 1
    assert checked >= 5, agent["action"][:3]

    # Clicking jumps to the step under the pointer; the panel follows.
    for fraction in (0.3, 0.82):
        x = fraction * width
        click_canvas(driver, "timeline", x, height / 2)
        expected = int(x / width * n)
        step = driver.execute_script("return mettascope.step")
        assert abs(step - expected) <= 1, (step, expected)
        driver.execute_script("mettascope.flush()")
        total = frame_at(replay, step)[0]["total_reward"]
        assert float(driver.find_element(By.ID, "agent-total-reward").text) == pytest.approx(total, abs=1e-3)
        assert driver.find_element(By.ID, "step-label").text == f"step {step} / {n - 1}"
    assert page_errors(driver) == []


def test_bad_files_show_an_error_state(driver, base_url, replays):
    root, _ = replays
    open_viewer(driver, base_url, "replay=/replays/garbage.json.z", expect="error")
    assert driver.find_element(By.ID, "error").is_displayed()
    assert "not a replay file" in driver.find_element(By.ID, "error-text").text
    assert driver.execute_script("return mettascope.loaded") is False

    open_viewer(driver, base_url, "replay=/replays/v2.json.z", expect="error")
    assert "version 2 is not supported" in driver.find_element(By.ID, "error-text").text

    open_viewer(driver, base_url, "replay=/replays/does_not_exist.json.z", expect="error")
    assert "404" in driver.find_element(By.ID, "error-text").text

    # The file picker: a good file loads, then a bad one replaces it with the error.
    picker = driver.find_element(By.ID, "file-input")
    picker.send_keys(str(root / "nav.json.z"))
    wait_for(driver, "return document.body.dataset.state === 'loaded'", 10, "the picked replay did not load")
    assert driver.find_element(By.ID, "replay-name").text == "nav.json.z"
    assert not driver.find_element(By.ID, "error").is_displayed()
    picker.send_keys(str(root / "list.json"))
    wait_for(driver, "return document.body.dataset.state === 'error'", 10, "a JSON list was accepted")
    assert "not a replay file" in driver.find_element(By.ID, "error-text").text
    assert driver.find_element(By.ID, "step-label").text == "step 0 / 0"

    # Dropping a replay file onto the page opens it.
    driver.execute_script("""
        return fetch('/replays/arena.json.z').then((r) => r.blob()).then((blob) => {
          const data = new DataTransfer();
          data.items.add(new File([blob], 'dropped.json.z'));
          document.getElementById('map').dispatchEvent(
            new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
        });""")
    wait_for(driver, "return document.body.dataset.state === 'loaded'", 10, "the dropped replay did not load")
    assert driver.find_element(By.ID, "replay-name").text == "dropped.json.z"
    assert driver.execute_script("return mettascope.replay.num_agents") == replays[1]["arena"]["num_agents"]
    assert page_errors(driver) == []


def test_large_synthetic_replay_plays_and_reports_draw_times(driver, base_url, replays):
    _, docs = replays
    replay = docs["big"]
    open_viewer(driver, base_url, "replay=/replays/big.json.z")
    load_ms = driver.execute_script("return mettascope.loadMs")
    for step in (0, 500, 1000):
        for agent_id in (0, 42, 99):
            js, py = js_agent(driver, step, agent_id), python_agent(replay, step, agent_id)
            assert js["totalReward"] == pytest.approx(py.pop("totalReward"))
            js.pop("totalReward")
            assert js == py, (step, agent_id)

    # Frozen agents are drawn iced over: their centre is not the plain group colour.
    step = 500
    frame = frame_at(replay, step)
    frozen = [o for o in frame[:100] if o["frozen"] > 0]
    driver.execute_script("mettascope.selectAgent(-1); mettascope.setStep(arguments[0])", step)
    for obj in frame[:100]:
        expected = driver.execute_script("return mettascope.groupColor(arguments[0])", obj["group"])
        pixel = map_pixel(driver, obj["row"], obj["col"])
        assert (pixel == expected) == (obj["frozen"] == 0), (obj["agent_id"], obj["frozen"], pixel)
    assert frozen, "the synthetic replay should have a frozen agent at step 500"

    # Play at 60 steps/s with rasterization forced inside the timed draw (syncRaster), so that
    # the draw time is what the browser really spends per frame.
    driver.execute_script("mettascope.selectAgent(7); mettascope.setStep(0); mettascope.setSpeed(60);"
                          "mettascope.setSyncRaster(true); mettascope.resetFrameStats(); mettascope.play()")
    time.sleep(2.5)
    driver.execute_script("mettascope.pause(); mettascope.setSyncRaster(false)")
    stats = driver.execute_script("return Object.assign({}, mettascope.frameStats)")
    step = driver.execute_script("return mettascope.step")
    print(f"\n100x100 map, 100 agents, 1000 steps: load {load_ms:.0f} ms, {stats['frames']} frames at "
          f"{stats['fps']} fps, avg draw {stats['avgDrawMs']:.2f} ms, max {stats['maxDrawMs']:.2f} ms "
          f"(rasterization included), reached step {step}")
    assert step >= 60
    assert stats["frames"] >= 30
    assert stats["avgDrawMs"] < 50
    assert page_errors(driver) == []


# ---------------------------------------------------------------------------------------------
# live mode


@contextlib.contextmanager
def live_server(doc: dict, controlled: int, respond):
    """A WebSocket server speaking the live protocol: it sends `doc`, then for every action the
    page sends it records it and answers with the step message `respond(action, step)`."""
    from aiohttp import WSMsgType, web

    received: list[dict] = []
    sockets: list = []

    async def handler(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sockets.append(ws)
        await ws.send_json({"type": "replay", "replay": doc, "controlled_agent": controlled})
        step = doc["max_steps"]
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            received.append(json.loads(message.data))
            step += 1
            await ws.send_json({"type": "step", "step": step, "changes": respond(received[-1], step),
                                "max_steps": step})
            if len(received) == 2:
                await ws.send_json({"type": "done", "replay_path": "/tmp/live.json.z", "message": "episode over"})
        return ws

    async def close_sockets(app):
        for ws in sockets:
            await ws.close()

    app = web.Application()
    app.router.add_get("/ws", handler)
    app.on_shutdown.append(close_sockets)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = web.AppRunner(app, shutdown_timeout=1.0)

    async def start():
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner.addresses[0][1]

    port = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield f"ws://127.0.0.1:{port}/ws", received
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def test_live_mode_follows_the_stream_and_sends_actions(driver, base_url, replays):
    _, docs = replays
    doc = json.loads(json.dumps(docs["nav"]))
    controlled = 1
    last = doc["max_steps"]
    agent = frame_at(doc, last)[controlled]
    facing = agent["orientation"]
    other = (facing + 1) % 4
    keys = [Keys.ARROW_UP, Keys.ARROW_DOWN, Keys.ARROW_LEFT, Keys.ARROW_RIGHT]

    def respond(action, step):
        if step == last + 1:  # a move: position and action change
            return [[controlled, "row", agent["row"] + 1], [controlled, "action", [1, 0]]]
        return [[controlled, "orientation", other], [controlled, "frozen", 5],
                [controlled, "inventory", [[6, 9]]], [controlled, "total_reward", 42.5]]

    with live_server(doc, controlled, respond) as (url, received):
        driver.get(f"{base_url}/?live={urllib.parse.quote(url, safe='')}")
        wait_for(driver, f"return document.body.dataset.state === 'loaded' && mettascope.step === {last}", 10,
                 "the live replay was not shown at its last step")
        assert driver.execute_script("return mettascope.selectedAgent") == controlled
        assert driver.execute_script("return mettascope.follow") is True
        badge = driver.find_element(By.ID, "live-badge")
        assert badge.is_displayed() and badge.text == f"Live: controlling agent {controlled}"

        ActionChains(driver).send_keys(keys[facing]).perform()  # already facing: move forward
        wait_for(driver, f"return mettascope.step === {last + 1}", 5, "no step after the first action")
        ActionChains(driver).send_keys(keys[other]).perform()  # another direction: rotate
        wait_for(driver, f"return mettascope.step === {last + 2}", 5, "no step after the second action")
        assert received == [{"type": "action", "action": "move", "arg": 0},
                            {"type": "action", "action": "rotate", "arg": other}]

        now = js_agent(driver, last + 2, controlled)
        assert (now["row"], now["orientation"], now["frozen"], now["inventory"]) == \
            (agent["row"] + 1, other, 5, {"heart": 9})
        assert now["totalReward"] == 42.5
        before = js_agent(driver, last, controlled)  # history is kept
        assert (before["row"], before["orientation"], before["frozen"]) == \
            (agent["row"], facing, agent["frozen"])
        field = driver.execute_script("return mettascope.replay.grid_objects[arguments[0]].frozen", controlled)
        assert field == [[0, 0], [last + 2, 5]]
        assert driver.execute_script("return mettascope.maxSteps") == last + 2
        wait_for(driver, "return document.getElementById('status').textContent.includes('episode over')", 5)
        driver.execute_script("mettascope.flush()")
        assert driver.find_element(By.ID, "agent-frozen").text.startswith("frozen")
        assert driver.find_element(By.ID, "step-label").text == f"step {last + 2} / {last + 2}"
        assert page_errors(driver) == []
        driver.get("about:blank")
