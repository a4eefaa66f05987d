"""tools/play.py as a user runs it: the page in real headless Chromium, key presses moving the
controlled agent in the live env (checked through the server's /api/state, not the page),
and the human's episode saved as a replay on Ctrl-C."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.ctrl_c import stop_with_ctrl_c
from tests.eval.browser import chromium, save_screenshot, skip_without_chromium

skip_without_chromium()

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from mettagrid.replay import load_replay, value_at

ROOT = Path(__file__).resolve().parents[2]
PLAY = str(ROOT / "tools" / "play.py")
ARROWS = [Keys.ARROW_UP, Keys.ARROW_DOWN, Keys.ARROW_LEFT, Keys.ARROW_RIGHT]  # orientation ids 0..3


def api_state(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/api/state", timeout=10) as response:
        return json.loads(response.read())


def wait_for(predicate, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)


def test_keys_in_the_browser_move_the_agent_in_the_env_and_the_episode_is_saved(tmp_path):
    process = subprocess.Popen(
        [PLAY, "replay_job.sim.env=mettagrid/navigation", "replay_job.policy_uri=metta://policy/random",
         "replay_job.port=0", "replay_job.open_browser_on_start=false", f"replay_job.replay_dir={tmp_path}",
         "replay_job.controlled_agent=1", "replay_job.serve=true"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://") and url.endswith("/?live=1"), url
        base = url.rsplit("/", 1)[0]
        start = api_state(base)
        assert start["step"] == 0 and start["controlled_agent"] == 1
        with chromium(1300, 900) as driver:
            driver.get(url)
            wait_for(lambda: driver.execute_script("return document.body.dataset.state === 'loaded'"), 15,
                     "the live page never loaded")
            assert driver.execute_script("return mettascope.selectedAgent") == 1
            # The page connected with the token it was served; the socket without it is refused.
            token = driver.execute_script(
                "return document.querySelector('meta[name=\"metta-live-token\"]').content")
            assert len(token) >= 20
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"{base}/ws", timeout=10)
            assert refused.value.code == 403

            # Press arrows until the agent has moved: the first press of a new direction turns
            # it, the next one steps forward (unless something stands in the way).
            moved_to = None
            for direction in range(4):
                for _ in range(2):
                    before = api_state(base)["step"]
                    ActionChains(driver).send_keys(ARROWS[direction]).perform()
                    wait_for(lambda before=before: api_state(base)["step"] == before + 1, 5, "a key press did not step the env")
                agent = api_state(base)["agents"][1]
                assert agent["orientation"] == direction  # the turn happened in the env
                if (agent["row"], agent["col"]) != (start["agents"][1]["row"], start["agents"][1]["col"]):
                    moved_to = agent
                    break
            assert moved_to is not None, "the agent never moved"
            state = api_state(base)
            assert state["human_actions"] == state["step"]
            # the page shows the env's step and the agent where the env has it
            wait_for(lambda: driver.execute_script("return mettascope.step") == state["step"], 5,
                     "the page did not follow the live steps")
            shown = driver.execute_script("return mettascope.agentAt(mettascope.step, 1)")
            assert (shown["row"], shown["col"]) == (moved_to["row"], moved_to["col"])
            save_screenshot(driver, "viewer_play.png")
    finally:
        returncode, _, stderr = stop_with_ctrl_c(process, timeout=30)
    assert returncode == 0, stderr

    [saved] = tmp_path.glob("play_random_mettagrid_navigation_*.json.z")
    assert f"{state['step']} steps written to {saved}" in stderr
    replay = load_replay(saved)
    assert replay["max_steps"] == state["step"] and replay["metadata"]["controlled_agent"] == 1
    final = replay["grid_objects"][1]
    assert (value_at(final["row"], replay["max_steps"]), value_at(final["col"], replay["max_steps"])) == \
        (moved_to["row"], moved_to["col"])
    actions = [replay["action_names"][value_at(final["action"], t)[0]] for t in range(1, replay["max_steps"] + 1)]
    assert set(actions) <= {"move", "rotate"} and "move" in actions
