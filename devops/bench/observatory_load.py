#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
from __future__ import annotations

__doc__ = """Observatory page loads with many long runs: 50 synthetic runs x 1,000 epochs (target < 1 s).

  devops/bench/observatory_load.py                      # 50 runs x 1000 epochs, 5 loads per page
  devops/bench/observatory_load.py --runs 10 --epochs 200 --loads 3
  devops/bench/observatory_load.py --screenshots        # also docs/images/observatory_{runs_many,compare}.png

The runs are metrics.jsonl files with the trainer's keys (18 per epoch), a config.yaml and a
heartbeat, written to a temporary train dir; the Observatory serves them in this process and
headless Chromium (tests/eval/browser.py) loads each page. "Rendered" is the page's own
`performance.now()` when it has drawn what it loaded (the runs table; every chart of the
overlaid-curves page with all 50 runs), counted from the start of navigation. The first load
includes the server reading every metrics.jsonl; later loads reuse its incremental cache.
"""

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

KEYS = ["losses/policy_loss", "losses/entropy", "losses/approx_kl", "losses/clipfrac", "losses/value_loss",
        "losses/grad_norm", "losses/explained_variance", "overview/reward", "overview/sps", "metric/epoch",
        "metric/agent_step", "timing/collect_s", "timing/update_s", "lr", "env_agent/heart.gained",
        "env_agent/action.move.success", "env_game/episode_length", "overview/episodes"]


def write_runs(train_dir: Path, runs: int, epochs: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    start = time.time() - epochs * 2.0
    for r in range(runs):
        run = train_dir / f"synthetic_{r:02d}"
        run.mkdir(parents=True)
        (run / "config.yaml").write_text(f"run: synthetic_{r:02d}\nenv:\n  name: {['navigation', 'arena'][r % 2]}\n"
                                         f"agent:\n  name: {['fast', 'latent_attn_small'][r % 3 == 0]}\n")
        rate, lines = rng.uniform(0.5, 2.0), []
        for e in range(1, epochs + 1):
            progress = 1 - math.exp(-rate * e / epochs * 4)
            row = {"agent_steps": e * 4096, "time": start + e * 2.0}
            row.update({k: rng.random() for k in KEYS})
            row["overview/reward"] = max(0.0, progress * 3 + rng.gauss(0, 0.3))
            row["env_agent/heart.gained"] = max(0.0, progress * 5 + rng.gauss(0, 0.5))
            row["overview/sps"] = 4000 + rng.gauss(0, 200)
            lines.append(json.dumps(row))
        (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
        status = "running" if r % 5 == 0 else "failed" if r % 7 == 0 else "finished"
        (run / "heartbeat.json").write_text(json.dumps({"status": status, "time": time.time(), "epoch": epochs,
                                                        "agent_steps": epochs * 4096}))


def scorecard_db(path: Path) -> Path:
    """Four checkpoints of one synthetic run on five evaluations, eight episodes each."""
    from tests.eval.db_helpers import StatsDbBuilder

    rng = random.Random(1)
    db = StatsDbBuilder(path)
    skill = {"3": 0.5, "6": 1.4, "9": 2.2, "12": 2.4}
    maps = [("navigation", "emptyspace", 3.0), ("navigation", "walls", 2.0), ("navigation", "labyrinth", 1.0),
            ("arena", "basic", 2.5), ("arena", "combat", 1.5)]
    for version, level in skill.items():
        for suite, name, scale in maps:
            for _ in range(8):
                reward = max(0.0, rng.gauss(level * scale / 2.4, 0.6))
                db.add_episode(name, suite, {0: (("synthetic_00", version), {"reward": reward})})
    return db.close()


def load_ms(driver, url: str) -> float:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get("about:blank")
    driver.get(url)
    WebDriverWait(driver, 60, poll_frequency=0.02).until(
        lambda d: d.execute_script("return window.renderedAt !== undefined || "
                                   "document.getElementById('page').dataset.ready === 'error'"))
    if driver.execute_script("return document.getElementById('page').dataset.ready") != "1":
        raise SystemExit(f"{url}: the page failed: {driver.find_element('id', 'page').text[:200]}")
    return driver.execute_script("return window.renderedAt")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--loads", type=int, default=5, help="loads per page (the first is cold)")
    parser.add_argument("--screenshots", action="store_true", help="save docs/images/observatory_*many*.png")
    args = parser.parse_args()

    from metta.observatory.server import Observatory, make_server
    from tests.eval.browser import chromium

    with tempfile.TemporaryDirectory(prefix="observatory-bench-") as tmp:
        train_dir = Path(tmp) / "train_dir"
        started = time.perf_counter()
        write_runs(train_dir, args.runs, args.epochs)
        size = sum(p.stat().st_size for p in train_dir.glob("*/metrics.jsonl"))
        print(f"{args.runs} runs x {args.epochs} epochs written ({size / 1e6:.1f} MB of metrics.jsonl) "
              f"in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        app = Observatory([train_dir], Path(tmp) / "state")  # reads every metrics.jsonl once
        print(f"Observatory start (index {args.runs} runs) {time.perf_counter() - started:.1f} s")
        server = make_server(app, 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        pages = {"runs list": "#/runs", f"curves, {args.runs} runs overlaid (7 charts)": "#/curves",
                 "one run's curves + checkpoints": "#/run/synthetic_00"}
        try:
            with chromium(1300, 1000) as driver:
                for name, route in pages.items():
                    times = [load_ms(driver, base + route) for _ in range(args.loads)]
                    warm = times[1:] or times
                    print(f"{name:45s} first {times[0]:7.0f} ms   then median {statistics.median(warm):6.0f} ms  "
                          f"max {max(warm):6.0f} ms  ({len(warm)} loads)")
                if args.screenshots:
                    os.environ["METTA_SAVE_SCREENSHOTS"] = "1"
                    from tests.eval.browser import save_screenshot

                    load_ms(driver, base + "#/runs")
                    save_screenshot(driver, "observatory_runs_many.png")
                    driver.set_window_size(1300, 1000)
                    load_ms(driver, base + "#/curves?runs=" + ",".join(f"synthetic_{r:02d}" for r in range(6)))
                    driver.execute_script("document.getElementById('smooth').value = 0.9; "
                                          "document.getElementById('smooth').dispatchEvent(new Event('input'))")
                    from selenium.webdriver.common.action_chains import ActionChains

                    canvas = driver.find_element("css selector", '[data-key="overview/reward"] canvas')
                    ActionChains(driver).move_to_element_with_offset(canvas, 40, 0).perform()
                    save_screenshot(driver, "observatory_compare.png")
                    driver.set_window_size(1300, 1000)
                    db = scorecard_db(Path(tmp) / "scorecard.duckdb")
                    load_ms(driver, base + "#/evals?db=" + str(db))
                    save_screenshot(driver, "observatory_scorecard.png")
        finally:
            server.shutdown()
            app.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
