"""The dashboard JSON (scores matrix + training curves), its S3 output, and the served
scorecard page in real headless Chromium (METTA_SAVE_SCREENSHOTS=1 saves
docs/images/scorecard.png)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from metta.eval.dashboard import make_server, server_url, thin
from metta.jobs.dashboard import DashboardConfig, run_dashboard
from mettagrid.errors import ConfigError
from tests.eval.db_helpers import showcase_db, two_policy_db

ROOT = Path(__file__).resolve().parents[2]


def write_run(train_dir: Path, run: str, epochs: int, scale: float, noise: float = 0.0) -> Path:
    """A metrics.jsonl as the trainer writes it, its last line cut short as in a live run."""
    path = train_dir / run / "metrics.jsonl"
    path.parent.mkdir(parents=True)
    rng = random.Random(run)
    lines = [json.dumps({"agent_steps": e * 2048, "time": 1.0e9 + e, "metric/epoch": e,
                         "overview/reward": scale * (1 - 0.97 ** e) + noise * scale * rng.gauss(0, 1),
                         "overview/sps": 4000 + 2000 * scale + 10 * e + noise * 3000 * rng.gauss(0, 1)})
             for e in range(1, epochs + 1)]
    path.write_text("\n".join(lines) + '\n{"agent_steps": 99')
    return path


@pytest.fixture
def sources(tmp_path):
    db = two_policy_db(tmp_path / "eval.duckdb")
    train_dir = tmp_path / "train_dir"
    write_run(train_dir, "nav_run", 40, 3.0)
    write_run(train_dir, "other_run", 25, 1.5)
    return db, train_dir


def test_dashboard_json_structure(sources, tmp_path):
    db, train_dir = sources
    out = tmp_path / "dash.json"
    dashboard, data, written = run_dashboard(DashboardConfig(
        eval_db_uris=[str(db)], train_dirs=[str(train_dir)], output_path=str(out)))
    assert written == str(out) and json.loads(out.read_bytes()) == json.loads(data) == dashboard
    assert dashboard["format"] == "metta.dashboard/1"
    assert [p["id"] for p in dashboard["policies"]] == ["nav_run:v2", "nav_run:v1", "random"]
    assert [e["id"] for e in dashboard["evaluations"]] == ["arena/basic", "navigation/emptyspace", "navigation/walls"]
    assert dashboard["metrics"] == ["reward", "action.move", "altar.used"]
    # Rows are policies, columns evaluations; null where a policy did not play.
    assert dashboard["scores"]["reward"]["mean"] == [[3.0, 2.5, 2.0], [None, 0.5, 1.0], [None, 0.0, None]]
    assert dashboard["agent_episodes"] == [[3, 4, 4], [None, 4, 4], [None, 4, None]]
    ci = dashboard["scores"]["reward"]["ci95"][0][1]
    assert ci[0] < 2.5 < ci[1]
    runs = {r["run"]: r for r in dashboard["training"]}
    assert set(runs) == {"nav_run", "other_run"}
    reward = runs["nav_run"]["curves"]["overview/reward"]
    assert len(reward) == 40  # the cut-short last line is skipped
    assert reward[0] == [2048, pytest.approx(3.0 * 0.03)] and reward[-1][0] == 40 * 2048
    assert set(runs["other_run"]["curves"]) == {"overview/reward", "overview/sps"}


def test_policy_and_metric_filters_as_in_the_reference(sources, tmp_path):
    db, train_dir = sources
    dashboard, _, _ = run_dashboard(DashboardConfig(
        eval_db_uris=[str(db)], train_dirs=[str(train_dir)], output_path=None,
        policies=["nav_run", "random"], metrics=["reward", "success_rate"]))
    assert [p["id"] for p in dashboard["policies"]] == ["nav_run:v2", "nav_run:v1", "random"]
    assert dashboard["metrics"] == ["reward", "success_rate"]
    # success_rate was never stored: 0 wherever the policy played, still null where it did not.
    assert dashboard["scores"]["success_rate"]["mean"] == [[0.0, 0.0, 0.0], [None, 0.0, 0.0], [None, 0.0, None]]
    assert [r["run"] for r in dashboard["training"]] == ["nav_run"]
    only_v2, _, _ = run_dashboard(DashboardConfig(eval_db_uris=[str(db)], train_dirs=[str(train_dir)],
                                                  output_path=None, policies=["nav_run:v2"]))
    assert [p["id"] for p in only_v2["policies"]] == ["nav_run:v2"]
    assert [r["run"] for r in only_v2["training"]] == ["nav_run"]  # a checkpoint keeps its run's curves


def test_long_curves_are_thinned_keeping_both_ends():
    points = [[i, i * 2] for i in range(1001)]
    kept = thin(points, 11)
    assert len(kept) == 11 and kept[0] == [0, 0] and kept[-1] == [1000, 2000] and kept[5] == [500, 1000]
    assert thin(points[:5], 11) == points[:5]


def test_training_runs_alone_make_a_dashboard(sources, tmp_path):
    _, train_dir = sources
    dashboard, _, _ = run_dashboard(DashboardConfig(runs=[str(train_dir / "nav_run")], train_dirs=[],
                                                    output_path=None))
    assert dashboard["policies"] == [] and dashboard["scores"] == {"reward": {"mean": [], "ci95": []}}
    assert [r["run"] for r in dashboard["training"]] == ["nav_run"]


def test_nothing_to_show_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="nothing to show"):
        run_dashboard(DashboardConfig(train_dirs=[str(tmp_path / "missing")], output_path=None))


def test_dashboard_written_to_s3(sources, s3_endpoint):
    from metta.common.uri import make_s3_client

    db, train_dir = sources
    client = make_s3_client()
    client.create_bucket(Bucket="dashboards")
    _, _, written = run_dashboard(DashboardConfig(eval_db_uris=[str(db)], train_dirs=[str(train_dir)],
                                                  output_path="s3://dashboards/experiments/dash.json"))
    assert written == "s3://dashboards/experiments/dash.json"
    stored = client.get_object(Bucket="dashboards", Key="experiments/dash.json")
    assert stored["ContentType"] == "application/json"
    assert json.loads(stored["Body"].read())["policies"][0]["id"] == "nav_run:v2"


def test_s3_errors_are_one_line(sources, s3_endpoint):
    db, _ = sources
    with pytest.raises(ConfigError) as error:
        run_dashboard(DashboardConfig(eval_db_uris=[str(db)], train_dirs=[],
                                      output_path="s3://no-such-bucket-here/dash.json"))
    assert str(error.value) == "dashboard.output_path: s3://no-such-bucket-here/dash.json: S3 bucket does not exist"


def test_server_serves_the_page_and_the_data():
    server = make_server(b'{"x": 1}', port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = server_url(server)
        assert url.startswith("http://127.0.0.1:")
        assert urllib.request.urlopen(url + "dashboard.json", timeout=5).read() == b'{"x": 1}'
        assert b"<title>Metta scorecard</title>" in urllib.request.urlopen(url, timeout=5).read()
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(url + "../etc/passwd", timeout=5)
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def served_dashboard(*overrides: str):
    """tools/dashboard.py with serve=true on a free port, as a user starts it; yields its URL."""
    tool = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "dashboard.py"), *overrides, "dashboard.serve=true", "dashboard.port=0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        yield _served_url(tool)
    finally:
        tool.terminate()
        tool.wait(timeout=10)


def _served_url(tool: subprocess.Popen, timeout_s: float = 60) -> str:
    """The URL the tool prints once it listens (after its dashboard summary line)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = tool.stdout.readline()
        if line.startswith("scorecard: "):
            return line.split(" ", 1)[1].strip()
        if not line and tool.poll() is not None:
            raise AssertionError(f"dashboard tool exited {tool.returncode}: {tool.stderr.read()}")
    raise AssertionError("dashboard tool printed no URL")


def open_scorecard(driver, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.body.dataset.ready"))


def select_metric(driver, metric: str) -> None:
    driver.execute_script("const s = document.getElementById('metric'); s.value = arguments[0];"
                          "s.dispatchEvent(new Event('change'));", metric)


def test_served_scorecard_in_chromium(sources, tmp_path):
    from tests.eval.browser import chromium, skip_without_chromium

    skip_without_chromium()
    from selenium.webdriver.common.by import By

    db, train_dir = sources
    with served_dashboard(f"dashboard.eval_db_uris=[{db}]", f"dashboard.train_dirs=[{train_dir}]",
                          f"dashboard.output_path={tmp_path / 'dash.json'}") as url, chromium(1300, 900) as driver:
        assert url.startswith("http://127.0.0.1:")
        open_scorecard(driver, url)
        assert driver.find_element(By.ID, "error").text == ""
        cells = driver.find_elements(By.CSS_SELECTOR, "td.cell")
        pairs = {(c.get_attribute("data-policy"), c.get_attribute("data-eval")): c.text for c in cells}
        assert len(pairs) == len(cells) == 6
        assert pairs[("nav_run:v2", "navigation/emptyspace")] == "2.50"
        assert len(driver.find_elements(By.CSS_SELECTOR, ".curve svg path")) == 4  # two runs x two keys
        assert driver.find_element(By.CSS_SELECTOR, ".curve .keys").text.split("\n") == ["nav_run", "other_run"]
        select_metric(driver, "action.move")  # the scorecard redraws for another metric
        assert driver.find_element(By.CSS_SELECTOR, "td.cell[data-policy='random']").text == "5.00"
        check_curve_cards(driver, train_dir)


def check_curve_cards(driver, train_dir) -> None:
    """Issue #20: curves fill their cards at two widths, start at 0 when never negative, read out
    the exact value under the pointer, smooth on request, and number like the report."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from metta.eval.report_html import fmt

    for width in (1300, 900):
        driver.set_window_size(width, 900)
        sizes = driver.execute_script("""return [...document.querySelectorAll('.curve')].map((card) => {
            const style = getComputedStyle(card);
            return [card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
                    card.querySelector('svg').getBoundingClientRect().width]; })""")
        assert sizes and all(abs(inner - svg) <= 3 for inner, svg in sizes), (width, sizes)
    cards = driver.find_elements(By.CSS_SELECTOR, ".curve")
    for card in cards:
        labels = [t.text for t in card.find_elements(By.CSS_SELECTOR, "svg text[text-anchor=end]")]
        assert float(labels[0].replace(",", "")) == 0.0, labels  # these curves are never negative
    card = cards[0]
    key = card.get_attribute("data-key")
    lines = (Path(train_dir) / "nav_run" / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines[:-1]]  # the last line is cut short, as in a live run
    points = [(r["agent_steps"], r[key]) for r in rows if key in r]
    chart = card.find_element(By.TAG_NAME, "svg")
    ActionChains(driver).move_to_element_with_offset(chart, chart.size["width"] // 2 - 13, 0).perform()
    readout = card.find_element(By.CLASS_NAME, "readout").text
    step, value = readout.split(" · ")[0].removeprefix("nav_run @ ").split(": ")
    assert (int(step), float(value)) in [(int(x), float(f"{y:.6g}")) for x, y in points]
    before = card.find_element(By.CSS_SELECTOR, "svg path").get_attribute("d")
    driver.execute_script("const s = document.getElementById('smoothing'); s.value = 0.9;"
                          "s.dispatchEvent(new Event('input'))")
    after = driver.find_element(By.CSS_SELECTOR, ".curve svg path").get_attribute("d")
    assert after != before and after.split("L")[0] == before.split("L")[0]  # smoothed, same first point
    values = [0.0, 0.0012, 0.5, 2.5, 12.34, 123.4, 98765.4, -3.21, -0.004]
    assert driver.execute_script("return arguments[0].map(fmt)", values) == [fmt(v) for v in values]


def test_scorecard_screenshot(tmp_path):
    """docs/images/scorecard.png, from a fuller seeded database and three training runs."""
    if os.environ.get("METTA_SAVE_SCREENSHOTS") != "1":
        pytest.skip("set METTA_SAVE_SCREENSHOTS=1 to refresh docs/images/scorecard.png")
    from tests.eval.browser import chromium, save_screenshot, skip_without_chromium

    skip_without_chromium()
    db = showcase_db(tmp_path / "eval.duckdb")
    for run, epochs, scale in (("nav_run", 120, 0.9), ("nav_run_lr3e-4", 90, 0.7), ("nav_run_small", 60, 0.5)):
        write_run(tmp_path / "train_dir", run, epochs, scale, noise=0.03)
    with served_dashboard(f"dashboard.eval_db_uris=[{db}]", f"dashboard.train_dirs=[{tmp_path / 'train_dir'}]",
                          "dashboard.output_path=null") as url, chromium(1400, 1000) as driver:
        open_scorecard(driver, url)
        path = save_screenshot(driver, "scorecard.png")
    assert path is not None and path.stat().st_size > 10_000
