"""The Observatory in headless Chromium, against a real tiny training run made here: the runs
list, a hovered curve value against metrics.jsonl, evaluating a checkpoint from the page (a
stats DB row), the scorecard of that DB, and a run launched from the form (a checkpoint).

METTA_SAVE_SCREENSHOTS=1 writes docs/images/observatory_*.png on the way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.eval.browser import chromium, save_screenshot, skip_without_chromium
from tests.tools.test_train_tool import TINY

skip_without_chromium()

ROOT = Path(__file__).resolve().parents[2]
RUN = "tiny"
TINY_OVERRIDES = [o for o in TINY if not o.startswith("env=")]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from metta.observatory.server import Observatory, make_server

    train_dir = tmp_path_factory.mktemp("train_dir")
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "train.py"), f"run={RUN}", f"train_dir={train_dir}",
                             "trainer.total_timesteps=1024", *TINY], capture_output=True, text=True, timeout=600,
                            check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    app = Observatory([train_dir], train_dir / "observatory")
    server = make_server(app, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with chromium(1300, 1000) as driver:
        yield {"url": f"http://127.0.0.1:{server.server_address[1]}/", "driver": driver, "train_dir": train_dir,
               "app": app}
    server.shutdown()
    app.close()


def open_page(site, route: str, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    driver = site["driver"]
    driver.get(site["url"] + route)
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.getElementById('page').dataset.ready") in ("1", "error"))
    assert driver.execute_script("return document.getElementById('page').dataset.ready") == "1", \
        driver.find_element("id", "page").text
    return driver


def wait_for(check, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def text_of(driver, css: str) -> str:
    """The text of the first element matching css, read in one script call: the page re-renders
    its tables on each poll, so a found element can be gone before its text is read."""
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.textContent : ''", css)


def click(driver, css: str, attempts: int = 5) -> None:
    """Click the last element matching css, finding it again when a re-render replaced it."""
    from selenium.common.exceptions import StaleElementReferenceException

    for attempt in range(attempts):
        try:
            driver.find_elements("css selector", css)[-1].click()
            return
        except StaleElementReferenceException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)


def metrics_rows(train_dir: Path, run: str) -> list[dict]:
    return [json.loads(line) for line in (train_dir / run / "metrics.jsonl").read_text().splitlines()]


def test_runs_list_shows_the_run_with_its_status_and_numbers(site):
    driver = open_page(site, "#/runs")
    row = driver.find_element("css selector", f'tr[data-run="{RUN}"]')
    cells = [td.text for td in row.find_elements("tag name", "td")]
    last = metrics_rows(site["train_dir"], RUN)[-1]
    assert cells[1:5] == [RUN, "finished", "navigation", "fast"]  # status from the heartbeat the trainer wrote
    assert cells[5] == "1024" and cells[8] == str(len(metrics_rows(site["train_dir"], RUN)))
    # The page's own formatting of the last sps (above 10,000 it reads "10.2k": not a float to parse).
    assert driver.execute_script("return fmt(arguments[0])", last["overview/sps"]) == cells[6]
    driver.find_element("id", "filter").send_keys("no-such-run")
    assert driver.find_elements("css selector", f'tr[data-run="{RUN}"]') == []
    driver.find_element("id", "filter").clear()
    save_screenshot(open_page(site, "#/runs"), "observatory_runs.png")


def test_hovered_curve_value_equals_metrics_jsonl(site):
    from selenium.webdriver.common.action_chains import ActionChains

    driver = open_page(site, f"#/run/{RUN}")
    canvas = driver.find_element("css selector", '[data-key="overview/sps"] canvas')
    width = canvas.size["width"]
    rows = metrics_rows(site["train_dir"], RUN)
    for offset in (60 - width // 2, width // 2 - 12):  # near the first and the last epoch
        ActionChains(driver).move_to_element_with_offset(canvas, offset, 0).perform()
        readout = driver.find_element("css selector", '[data-key="overview/sps"] .readout .row')
        step, value = float(readout.get_attribute("data-x")), float(readout.get_attribute("data-value"))
        row = next(r for r in rows if r["agent_steps"] == step)
        assert value == row["overview/sps"]
        assert driver.execute_script("return fmt(arguments[0])", value) in readout.text
    assert {r["agent_steps"] for r in rows} >= {512.0, 1024.0}
    save_screenshot(driver, "observatory_run.png")


def test_evaluate_button_writes_a_stats_db_row_and_the_scorecard_shows_it(site):
    import duckdb

    driver = open_page(site, f"#/run/{RUN}")
    wait_for(lambda: driver.find_elements("css selector", "button.evaluate"), 20, "the checkpoints table")
    click(driver, "button.evaluate")
    job = wait_for(lambda: [j for j in site["app"].queue.list() if j["kind"] == "evaluate"], 20, "the queued job")[0]
    done = wait_for(lambda: (j := site["app"].queue.get(job["id"]))["status"] in ("done", "failed") and j, 400,
                    "the evaluation job")
    assert done["status"] == "done", site["app"].queue.log(job["id"])
    with duckdb.connect(done["meta"]["stats_db"], read_only=True) as db:
        policies = {r[0] for r in db.execute("SELECT DISTINCT policy_key FROM simulations").fetchall()}
    assert any(RUN in p for p in policies), policies
    evaluated = f'tr[data-checkpoint="{RUN}:v2"]'
    wait_for(lambda: text_of(driver, f"{evaluated} td.score").strip() not in ("", "–"), 20, "the eval score")
    save_screenshot(driver, "observatory_checkpoints.png")
    click(driver, f"{evaluated} button.replay")  # MettaScope, in a new tab
    wait_for(lambda: len(driver.window_handles) == 2, 20, "the replay tab")
    driver.switch_to.window(driver.window_handles[1])
    wait_for(lambda: "replay=" in driver.current_url, 20, "MettaScope's URL")
    assert "/replays/tiny_v2_0.json.z" in driver.current_url
    driver.close()
    driver.switch_to.window(driver.window_handles[0])

    driver = open_page(site, "#/evals", timeout=60)
    rows = driver.find_elements("css selector", "#scorecard tr[data-policy]")
    assert [r.get_attribute("data-policy") for r in rows] == [f"{RUN}:v2"]
    assert rows[0].find_elements("css selector", "td.cell")
    save_screenshot(driver, "observatory_evals.png")


def test_launch_form_refuses_a_bad_override_in_one_line_then_starts_a_run(site):
    from selenium.webdriver.support.ui import Select

    driver = open_page(site, "#/launch")
    form = driver.find_element("id", "launch")
    name = form.find_element("name", "run")
    name.clear()
    name.send_keys("launched")
    Select(form.find_element("name", "env")).select_by_visible_text("mettagrid/navigation")
    overrides = form.find_element("name", "overrides")
    overrides.send_keys("trainer.total_timesteps=lots")
    driver.find_element("id", "check").click()
    result = wait_for(lambda: driver.find_element("id", "result").text, 60, "the check")  # not re-rendered
    assert result == ("command line: trainer.total_timesteps: Input should be a valid integer, unable to parse "
                      "string as an integer (got 'lots')")
    save_screenshot(driver, "observatory_launch.png")
    overrides.clear()
    overrides.send_keys("\n".join(["trainer.total_timesteps=512", *TINY_OVERRIDES]))
    driver.find_element("id", "start").click()
    wait_for(lambda: "#/jobs/" in driver.current_url, 60, "the job page")
    checkpoint = site["train_dir"] / "launched" / "checkpoints" / "launched:v1.pt"
    wait_for(checkpoint.is_file, 400, f"{checkpoint}")
    job = next(j for j in site["app"].queue.list() if j["kind"] == "train")
    wait_for(lambda: site["app"].queue.get(job["id"])["status"] == "done", 60, "the training job to end")
    driver.refresh()
    wait_for(lambda: "launched" in text_of(driver, "pre#log"), 20, "the job's log")
    save_screenshot(driver, "observatory_jobs.png")


def test_run_page_follows_a_run_while_it_trains(site):
    """A run started in the background: the open page gains rows from polling alone and its
    status goes running -> finished, ending with every row metrics.jsonl holds.

    The trainer is paced with SIGSTOP/SIGCONT so that the page must show two different
    row counts while the run is alive however fast this machine trains (a fast CI box
    once finished all 48 epochs between two of the page's polls)."""
    run, train_dir = "live", site["train_dir"]
    metrics = train_dir / run / "metrics.jsonl"
    log_path = train_dir / f"{run}.log"
    with open(log_path, "w") as log:
        trainer = subprocess.Popen([sys.executable, str(ROOT / "tools" / "train.py"), f"run={run}",
                                    f"train_dir={train_dir}", "trainer.total_timesteps=24576",  # 48 epochs
                                    "trainer.log_interval_s=1", "trainer.checkpoint_interval=16", *TINY],
                                   stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    driver = None
    seen = []  # (status shown, rows the page holds), each time either changes

    def page_state():
        state = tuple(driver.execute_script(
            "return [document.getElementById('runstatus').textContent, "
            "JSON.parse(document.getElementById('page').dataset.rows || '{}')[arguments[0]] || 0]", run))
        if not seen or state != seen[-1]:
            seen.append(state)
        return state

    def rows_written():
        return metrics.read_text().count("\n") if metrics.is_file() else 0  # complete rows only

    def pause_after(rows_before: int) -> int:
        """Stop the trainer as soon as it has written more than rows_before rows; return its rows."""
        end = time.monotonic() + 300
        while trainer.poll() is None and rows_written() <= rows_before and time.monotonic() < end:
            time.sleep(0.02)  # tight: a fast machine trains an epoch in a few tens of ms
        assert trainer.poll() is None and rows_written() > rows_before, log_path.read_text()[-2000:]
        trainer.send_signal(signal.SIGSTOP)
        return rows_written()

    def page_shows_running(rows: int):
        wait_for(lambda: page_state() == ("running", rows), 60, f"the page to show {rows} rows, running")

    try:
        first = pause_after(0)
        driver = open_page(site, f"#/run/{run}")
        page_shows_running(first)  # from the page load
        trainer.send_signal(signal.SIGCONT)
        second = pause_after(first)
        page_shows_running(second)  # from polling alone
        trainer.send_signal(signal.SIGCONT)
        end = time.monotonic() + 600
        while seen[-1][0] != "finished" and time.monotonic() < end:
            page_state()
            time.sleep(0.3)
        assert trainer.wait(60) == 0, log_path.read_text()[-2000:]
    finally:
        if trainer.poll() is None:
            trainer.send_signal(signal.SIGCONT)
            trainer.kill()
            trainer.wait()
    running = [rows for status, rows in seen if status == "running"]
    assert 1 <= first < second and running == sorted(running), seen  # grew while it trained
    assert seen[-1] == ("finished", len(metrics_rows(train_dir, run))), seen
    assert [status for status, _ in seen] == ["running"] * len(running) + ["finished"] * (len(seen) - len(running))
