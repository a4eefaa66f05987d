"""The sweep dashboard (tools/sweep_dashboard.py) run as a user starts it: its one-line error for
an unknown sweep, its /api/sweep snapshot re-read on every request, Ctrl-C, and the page in
real headless Chromium (METTA_SAVE_SCREENSHOTS=1 saves docs/images/sweep_dashboard.png)."""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
import select
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from metta.sweep.dashboard import sweep_snapshot
from metta.sweep.pareto import pareto_front
from metta.sweep.store import SweepStore
from tests.ctrl_c import stop_with_ctrl_c

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "sweep_dashboard.py"
SWEEP = "dash"

CONFIG = {
    "metric": "reward_avg", "goal": "maximize", "method": "bayes", "max_runs": 20, "protein": {},
    "parameters": {"trainer": {
        "learning_rate": {"distribution": "log_normal", "min": 1e-4, "max": 1e-2, "mean": 1e-3},
        "batch_size": {"distribution": "uniform_pow2", "min": 32768, "max": 1048576, "mean": 262144},
        "gamma": {"distribution": "logit_normal", "min": 0.9, "max": 0.999, "mean": 0.977},
        "update_epochs": {"distribution": "int_uniform", "min": 1, "max": 4, "mean": 2},
    }},
    "schedule": {"phases": [{"name": "explore", "num_runs": 6}, {"name": "exploit", "num_runs": 20}]},
}
PARAMS = [f"trainer.{name}" for name in CONFIG["parameters"]["trainer"]]
FAILED = {3: ("no checkpoint in train_dir/dash.r.3/checkpoints", 420.0),
          8: ("no heartbeat for 600 s (worker stopped)", None)}
RUNNING, ABANDONED = 12, 11


def make_sweep(root: Path, runs: int = 13) -> SweepStore:
    """A sweep as workers leave it: 9 runs done, 2 failed, 1 abandoned (silent for an hour) and
    1 still running. The score rises with the learning rate and the batch size; the cost with
    the batch size and the epochs, so that better runs tend to cost more."""
    store = SweepStore(str(root), SWEEP)
    store.create_sweep(CONFIG)
    rng = random.Random(5)
    now = time.time()
    for n in range(runs):
        run_id = store.claim_next(f"worker-{n % 3}")
        doublings, epochs = rng.randint(0, 5), rng.randint(1, 4)
        lr = 10 ** rng.uniform(-4, -2)
        params = {"trainer.learning_rate": float(f"{lr:.4g}"), "trainer.batch_size": 32768 * 2 ** doublings,
                  "trainer.gamma": float(f"{rng.uniform(0.9, 0.999):.4g}"), "trainer.update_epochs": epochs}
        score = round(0.3 + 0.12 * (math.log10(lr) + 4) + 0.05 * doublings + rng.gauss(0, 0.03), 4)
        cost = round(400 + 420 * doublings * (0.5 + epochs / 4) + rng.uniform(0, 400), 1)
        claimed = now - (3600 if n == ABANDONED else 30 if n == RUNNING else cost + 45)
        claim = {"run_id": run_id, "worker": f"worker-{n % 3}", "claimed_at": claimed}
        store.backend.write(f"runs/{run_id}/claim.json", json.dumps(claim).encode())  # claimed back then
        store.write_suggestion(run_id, {"params": params, "phase": "explore" if n < 6 else "exploit",
                                        "info": {"acquisition": "ucb", "predicted_score": score,
                                                 "predicted_score_std": 0.05},
                                        "created_at": claimed})
        if n == RUNNING:
            store.heartbeat(run_id)
        elif n == ABANDONED:
            continue
        elif n in FAILED:
            reason, failed_cost = FAILED[n]
            store.record_observation(run_id, {"params": params, "score": None, "cost": failed_cost,
                                              "failed": True, "reason": reason})
        else:
            # measured spread across evaluation episodes; run 0 was recorded before it was kept
            spread = {} if n == 0 else {"score_std": round(0.01 + 0.002 * n, 4), "score_n": 8}
            store.record_observation(run_id, {"params": params, "score": score, "cost": cost, "failed": False,
                                              "metrics": {"reward_avg": score, "episode_length": 120 + n}, **spread})
    return store


def done_runs(store: SweepStore) -> list:
    return [r for r in store.runs() if r.observation and not r.observation.get("failed")]


def expected_front(store: SweepStore) -> list[str]:
    done = done_runs(store)
    front = pareto_front(np.array([r.observation["cost"] for r in done]),
                         np.array([r.observation["score"] for r in done]))
    return [done[i].run_id for i in front]


@contextlib.contextmanager
def served(sweep_dir: Path, *flags: str):
    """The tool on a free port, started as a user types it; yields (process, URL)."""
    tool = subprocess.Popen([str(TOOL), "--sweep-name", SWEEP, "--sweep-dir", str(sweep_dir), "--port", "0",
                             "--no-browser", *flags],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield tool, _read_url(tool)
    finally:
        if tool.poll() is None:
            tool.terminate()
            tool.wait(timeout=10)


def _read_url(tool: subprocess.Popen, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([tool.stdout], [], [], 0.2)
        if ready:
            line = tool.stdout.readline()
            if line.startswith("http://"):
                return line.strip()
        if tool.poll() is not None:
            raise AssertionError(f"sweep_dashboard exited {tool.returncode}: {tool.stderr.read()}")
    raise AssertionError("sweep_dashboard printed no URL")


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("application/json")
        return json.loads(response.read())


def test_unknown_sweep_is_a_one_line_error(tmp_path):
    make_sweep(tmp_path, runs=1)
    result = subprocess.run([str(TOOL), "--sweep-name", "nope", "--sweep-dir", str(tmp_path), "--no-browser"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --sweep-name: no sweep 'nope'"), result.stderr
    assert "sweeps there: dash" in lines[0]


def test_api_rereads_the_store_and_ctrl_c_stops(tmp_path):
    store = make_sweep(tmp_path)
    with served(tmp_path) as (tool, url):
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        data = get_json(url + "api/sweep")
        assert (data["sweep_name"], data["metric"], data["goal"]) == (SWEEP, "reward_avg", "maximize")
        assert data["config"] == CONFIG and data["max_runs"] == 20
        assert [(p["name"], p["log"]) for p in data["parameters"]] == [
            ("trainer.learning_rate", True), ("trainer.batch_size", True), ("trainer.gamma", False),
            ("trainer.update_epochs", False)]
        runs = {r["run_id"]: r for r in data["runs"]}
        assert [r["number"] for r in data["runs"]] == list(range(13))
        status = {r["number"]: r["status"] for r in data["runs"]}
        assert [n for n, s in status.items() if s == "failed"] == [3, 8]
        assert (status[ABANDONED], status[RUNNING]) == ("abandoned", "running")
        assert list(status.values()).count("done") == 9
        for record in store.runs():
            run = runs[record.run_id]
            assert run["params"] == record.suggestion["params"] and run["worker"] == record.claim["worker"]
            assert run["phase"] == record.suggestion["phase"]
            assert run["created_at"] == record.suggestion["created_at"]
            if record.observation:
                observed = record.observation
                assert (run["score"], run["cost"], run["recorded_at"]) == \
                    (observed["score"], observed["cost"], observed["recorded_at"])
        assert runs["dash.r.3"]["reason"].startswith("no checkpoint") and runs["dash.r.3"]["failed"] is True
        assert runs["dash.r.0"]["metrics"]["episode_length"] == 120 and runs["dash.r.0"]["failed"] is False

        # Each request reads the store again: a run that finishes shows at once.
        store.record_observation(f"{SWEEP}.r.{RUNNING}", {"score": 0.5, "cost": 100.0, "failed": False})
        again = {r["number"]: r for r in get_json(url + "api/sweep")["runs"]}
        assert again[RUNNING]["status"] == "done" and again[RUNNING]["score"] == 0.5

        with urllib.request.urlopen(url, timeout=10) as page:
            assert b"<title>Sweep dashboard</title>" in page.read()
        with urllib.request.urlopen(url + "static/main.js", timeout=10) as script:
            assert b"window.sweepDashboard" in script.read()

        returncode, _, stderr = stop_with_ctrl_c(tool, timeout=10)
        assert returncode == 0
        assert "Traceback" not in stderr


def test_snapshot_of_a_sweep_on_s3(s3_endpoint):
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="sweep-dash")
    store = SweepStore("s3://sweep-dash/sweeps", SWEEP)
    store.create_sweep(CONFIG)
    run = store.claim_next("w")
    store.write_suggestion(run, {"params": {"trainer.learning_rate": 0.001}, "phase": "explore"})
    store.record_observation(run, {"score": float("nan"), "cost": 10.0, "failed": False})
    snapshot = sweep_snapshot(SweepStore("s3://sweep-dash/sweeps", SWEEP), store.sweep_config())
    [flat] = snapshot["runs"]
    assert snapshot["location"] == "s3://sweep-dash/sweeps/dash"
    assert flat["status"] == "failed" and flat["score"] is None  # a NaN score is no score (and valid JSON)


# ---------------------------------------------------------------------------------------------
# the page


def wait_for(driver, script: str, timeout: float = 15):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: d.execute_script(script))


def spearman(xs, ys) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(xs, ys).statistic)


def test_dashboard_page_in_chromium(tmp_path):
    from tests.eval.browser import chromium, save_screenshot, skip_without_chromium

    skip_without_chromium()
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    store = make_sweep(tmp_path)
    done = done_runs(store)
    best = max(done, key=lambda r: r.observation["score"])

    def css(selector: str) -> list:
        return driver.find_elements(By.CSS_SELECTOR, selector)

    with served(tmp_path, "--refresh-s", "1", "--hourly-cost", "2.5") as (_, url), \
            chromium(1400, 1000) as driver:
        driver.get(url)
        state = wait_for(driver, "const s = document.body.dataset.state; return s !== 'loading' && s")
        assert state == "loaded"

        # Summary cards.
        cards = driver.find_element(By.ID, "card-runs")
        statuses = ("total", "done", "failed", "running", "abandoned")
        counts = [cards.get_attribute(f"data-{s}") for s in statuses]
        assert counts == ["13", "9", "2", "1", "1"]
        assert "9 done" in cards.text and "2 failed" in cards.text and "1 running" in cards.text
        best_card = driver.find_element(By.ID, "card-best")
        assert best_card.get_attribute("data-run") == best.run_id and best.run_id in best_card.text
        shown_best = best_card.find_element(By.CLASS_NAME, "card-value").text
        assert float(shown_best) == pytest.approx(best.observation["score"])
        total = sum(r.observation["cost"] or 0 for r in store.runs() if r.observation)
        cost_card = driver.find_element(By.ID, "card-cost")
        assert float(cost_card.get_attribute("data-seconds")) == pytest.approx(total)
        assert f"${total / 3600 * 2.5:.2f}" in cost_card.text

        # Cost vs score: one point per successful run, the front as computed here, failures as crosses.
        assert len(css("#chart-pareto svg.chart circle.point")) == 9
        assert {e.get_attribute("data-run") for e in css("#chart-pareto svg.chart circle.point.pareto")} == \
            set(expected_front(store))
        assert driver.execute_script("return window.sweepDashboard.pareto") == expected_front(store)
        assert sorted(e.get_attribute("data-run") for e in css("#chart-pareto svg.chart g.point.failed")) == \
            ["dash.r.3", "dash.r.8"]
        charts = driver.execute_script("return window.sweepDashboard.charts")
        assert (charts["scatter"], charts["failed"], charts["timeline"]) == (9, 2, 9)
        assert charts["params"] == {name: 9 for name in charts["params"]} and len(charts["params"]) == 4

        # Importance: a bar per parameter, |rho| decreasing, the same rho as scipy's.
        rows = css("#chart-importance g.bar-row")
        rhos = {e.get_attribute("data-param"): float(e.get_attribute("data-rho")) for e in rows}
        assert len(rows) == 4 and set(rhos) == set(PARAMS)
        magnitudes = [abs(rhos[e.get_attribute("data-param")]) for e in rows]
        assert magnitudes == sorted(magnitudes, reverse=True)
        scores = [r.observation["score"] for r in done]
        for name, rho in rhos.items():
            values = [r.observation["params"][name] for r in done]
            assert rho == pytest.approx(spearman(values, scores), abs=1e-9)
        top_two = {e.get_attribute("data-param") for e in rows[:2]}
        assert top_two == {"trainer.learning_rate", "trainer.batch_size"}  # the score was made from these

        # Log axes for log_normal and uniform_pow2: learning-rate ticks are powers of ten.
        ticks = [t.text for t in css("#param-trainer-learning_rate text.tick")]
        assert ticks[:3] == ["1e-4", "0.001", "0.01"]

        # A real click on a point shows that run's config.
        target = next(r for r in done if r.run_id not in expected_front(store))
        point = css(f"#chart-pareto svg.chart circle[data-run='{target.run_id}']")[0]
        ActionChains(driver).move_to_element(point).click().perform()
        title = "return document.getElementById('details-title')?.textContent"
        assert wait_for(driver, title) == target.run_id
        assert driver.find_element(By.ID, "tooltip").text.startswith(target.run_id)
        shown = {row.get_attribute("data-param"): row.find_element(By.TAG_NAME, "td").text
                 for row in css("#details-params tr")}
        assert {k: float(v) for k, v in shown.items()} == target.observation["params"]
        assert driver.find_element(By.ID, "details-status").text == "done"
        assert "episode_length" in driver.find_element(By.ID, "details-metrics").text
        assert "selected" in point.get_attribute("class")
        driver.find_element(By.CSS_SELECTOR, "#runs-table tr[data-run='dash.r.3']").click()  # a table row too
        assert wait_for(driver, title) == "dash.r.3"
        assert driver.find_element(By.ID, "details-reason").text.startswith("no checkpoint")
        driver.execute_script("window.sweepDashboard.selectRun(arguments[0]); scrollTo(0, 0)", best.run_id)
        save_screenshot(driver, "sweep_dashboard.png")

        # The score slider filters every chart.
        threshold = float(np.median(scores))
        driver.execute_script("const s = document.getElementById('filter-score-min'); s.value = arguments[0];"
                              "s.dispatchEvent(new Event('input'))", threshold)
        kept = sum(s >= threshold for s in scores)
        assert 0 < kept < 9
        charts = driver.execute_script("return window.sweepDashboard.charts")
        assert (charts["scatter"], charts["timeline"], charts["scoreHistogram"]) == (kept, kept, kept)
        assert len(css("#chart-pareto svg.chart circle.point")) == kept
        assert set(charts["params"].values()) == {kept}
        # Runs without a score (2 failed, 1 running, 1 abandoned) stay.
        assert driver.find_element(By.ID, "filter-count").text == f"{kept + 4} of 13 runs shown"
        driver.find_element(By.ID, "filter-reset").click()
        assert driver.execute_script("return window.sweepDashboard.charts.scatter") == 9

        # A run that finishes appears at the next refresh, as the new best.
        running = f"{SWEEP}.r.{RUNNING}"
        params = store.runs()[RUNNING].suggestion["params"]
        store.record_observation(running, {"params": params, "score": 0.99, "cost": 500.0, "failed": False})
        wait_for(driver, "return window.sweepDashboard.charts.scatter === 10", timeout=10)
        assert driver.find_element(By.ID, "card-runs").get_attribute("data-done") == "10"
        assert driver.find_element(By.ID, "card-best").get_attribute("data-run") == running
        assert len(css("#chart-pareto svg.chart circle.point")) == 10
        assert driver.execute_script("return window.sweepDashboard.selectedRun.run_id") == best.run_id


def test_every_run_links_to_its_curves_and_replay(tmp_path):
    from tests.eval.browser import chromium, skip_without_chromium

    skip_without_chromium()
    from selenium.webdriver.common.by import By

    store = make_sweep(tmp_path / "sweeps")
    best = max(done_runs(store), key=lambda r: r.observation["score"])
    run_dir = tmp_path / "train" / best.run_id
    (run_dir / "replays").mkdir(parents=True)
    rewards = [None, 0.5, 1.25, 2.0]  # no episode had finished in the first epoch
    (run_dir / "metrics.jsonl").write_text("".join(
        json.dumps({"agent_steps": 1024 * (i + 1), **({} if r is None else {"overview/reward": r})}) + "\n"
        for i, r in enumerate(rewards)) + '{"agent_steps": 50')  # a line still being written
    replay = b"not really zlib, but served byte for byte"
    (run_dir / "replays" / "run_e00004.json.z").write_bytes(replay)

    with served(tmp_path / "sweeps", "--train-dir", str(tmp_path / "train")) as (_, url), \
            chromium(1400, 1000) as driver:
        driver.get(url)
        assert wait_for(driver, "const s = document.body.dataset.state; return s !== 'loading' && s") == "loaded"
        runs = get_json(url + "api/sweep")["runs"]
        assert all(r["links"] == {"curves": f"/runs/{r['run_id']}/curves", "replay": f"/runs/{r['run_id']}/replay"}
                   for r in runs)
        for box in ("chart-score-hist", "chart-cost-hist"):  # run counts: the axis starts at 0
            bottom, frame = driver.execute_script(
                "const svg = document.querySelector(`#${arguments[0]} svg.chart`);"
                "const bar = svg.querySelector('rect.hist-bar'), f = svg.querySelector('rect.frame');"
                "return [+bar.getAttribute('y') + +bar.getAttribute('height'),"
                " +f.getAttribute('y') + +f.getAttribute('height')]", box)
            assert abs(bottom - frame) < 0.5, (box, bottom, frame)
        driver.execute_script("window.sweepDashboard.selectRun(arguments[0])", best.run_id)
        wait_for(driver, "return document.querySelector('#details-curve polyline')")
        line = driver.find_element(By.CSS_SELECTOR, "#details-curve polyline")
        assert line.get_attribute("data-points") == "3"
        assert "±" in driver.find_element(By.ID, "details-predicted").text
        links = {a.get_attribute("id"): a.get_attribute("href")
                 for a in driver.find_elements(By.CSS_SELECTOR, ".run-links a")}
        curves = get_json(links["details-curves-link"])
        assert curves["series"]["overview/reward"] == [None, 0.5, 1.25, 2.0]
        with urllib.request.urlopen(links["details-replay-download"], timeout=10) as response:
            assert response.read() == replay
        # The replay link opens MettaScope on that replay (a redirect to the viewer), not a download.
        with urllib.request.urlopen(links["details-replay-link"], timeout=30) as response:
            viewer_url, page = response.url, response.read().decode()
        assert "?replay=/replays/run_e00004.json.z" in viewer_url and "<title>MettaScope" in page
        with urllib.request.urlopen(viewer_url.split("?")[0] + "replays/run_e00004.json.z", timeout=10) as response:
            assert response.read() == replay

        # Each run's score is shown as mean ± std (n) across its evaluation episodes.
        for run in (r for r in runs if r["status"] == "done"):
            cell = driver.find_element(By.CSS_SELECTOR, f'#runs-table tr[data-run="{run["run_id"]}"] td.score').text
            observed = store.run(run["run_id"]).observation
            if "score_n" not in observed:
                assert float(cell) == pytest.approx(observed["score"], rel=1e-3)
                continue
            mean, std, n = re.fullmatch(r"(\S+) ± (\S+) \(n=(\d+)\)", cell).groups()
            assert (float(mean), float(std), int(n)) == (pytest.approx(observed["score"], rel=1e-3),
                                                         pytest.approx(observed["score_std"], rel=1e-3), 8)
        measured = next(r for r in runs if r["status"] == "done" and r["score_n"])
        driver.execute_script("window.sweepDashboard.selectRun(arguments[0])", measured["run_id"])
        details = wait_for(driver, "const t = document.getElementById('details-score')?.textContent;"
                                   "return t && t.includes('(n=8)') && t")
        assert details.startswith(f"{measured['score']:.6g} ± {measured['score_std']:.6g} (n=8) (measured")

        other = next(r for r in runs if r["run_id"] != best.run_id)
        driver.execute_script("window.sweepDashboard.selectRun(arguments[0])", other["run_id"])
        note = wait_for(driver, "const t = document.getElementById('details-curve-note')?.textContent;"
                                "return t && t.startsWith('no curve') && t")
        assert "metrics.jsonl" in note
        for path in (f"/runs/{other['run_id']}/replay", "/runs/..%2F..%2Fetc/curves"):
            try:
                urllib.request.urlopen(url.rstrip("/") + path, timeout=10)
            except urllib.error.HTTPError as error:
                assert error.code == 404
            else:
                raise AssertionError(f"{path} should be 404")
