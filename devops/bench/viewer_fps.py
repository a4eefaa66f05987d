"""How fast the browser viewer draws: a real 100x100 replay with 100 agents in headless Chromium.

Usage (repo root, after ./devops/setup.sh; needs Debian's chromium and chromium-driver):
    .venv/bin/python devops/bench/viewer_fps.py [--seconds 5] [--steps 1000] [--zoom fit|close]

Records one episode of the random policy on a 100x100 map (random walls, buildings and 100
agents), serves it with the viewer's own server, plays it at 60 steps/s and prints the draw
time per frame (rasterization forced into the timed section) and the frame rate. 60 fps needs
a draw well under 16.7 ms; the browser here renders in software, so a GPU desktop only does
better.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from metta.sim.replay import record_episode, write_replay
from metta.viewer.server import ViewerServer
from mettagrid.config import EnvConfig
from mettagrid.env_configs import compose_env_config
from mettagrid.scripted_policies import SCRIPTED_POLICIES


def big_env(steps: int) -> EnvConfig:
    data = compose_env_config("mettagrid/arena/combat", []).model_dump()
    data["game"]["num_agents"] = 100
    data["game"]["max_steps"] = steps
    data["game"]["map_builder"] = {
        "type": "random", "width": 100, "height": 100, "agents": 100, "border_width": 1,
        "objects": {"wall": 1000, "block": 100, "mine_red": 60, "generator_red": 30, "altar": 20,
                    "armory": 10, "lasery": 10},
    }
    return EnvConfig.model_validate(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="How long to play")
    parser.add_argument("--steps", type=int, default=1000, help="Episode length")
    parser.add_argument("--zoom", choices=("fit", "close"), default="fit",
                        help="fit: the whole map on screen; close: zoomed in on one agent (follow mode)")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "tests"))
    from tests.eval.browser import chromium  # the same driver set-up as the page tests

    start = time.perf_counter()
    replay = record_episode(big_env(args.steps), lambda env: SCRIPTED_POLICIES["random"](env, seed=0), seed=0)
    path = Path(tempfile.mkdtemp(prefix="viewer-bench-")) / "big.json.z"
    write_replay(replay, path)
    print(f"replay: {replay['map_size'][0]}x{replay['map_size'][1]}, {replay['num_agents']} agents, "
          f"{replay['max_steps']} steps, {len(replay['grid_objects'])} objects, {path.stat().st_size / 1e3:.0f} kB "
          f"(recorded in {time.perf_counter() - start:.1f} s)")

    server = ViewerServer(port=0)
    server.start()
    url = server.publish(path)
    try:
        with chromium(1600, 1000) as driver:
            driver.get(url)
            deadline = time.monotonic() + 30
            while driver.execute_script("return document.body.dataset.state") != "loaded":
                if time.monotonic() > deadline:
                    raise SystemExit("the viewer did not load the replay in 30 s")
                time.sleep(0.05)
            load_ms = driver.execute_script("return mettascope.loadMs")
            setup = "mettascope.selectAgent(7); mettascope.setStep(0); mettascope.setSpeed(60);"
            if args.zoom == "close":
                setup += "mettascope.setFollow(true); mettascope.zoom(4);"
            driver.execute_script(setup + "mettascope.setSyncRaster(true); mettascope.resetFrameStats(); "
                                  "mettascope.play()")
            time.sleep(args.seconds)
            driver.execute_script("mettascope.pause()")
            stats = driver.execute_script("return Object.assign({}, mettascope.frameStats)")
            step = driver.execute_script("return mettascope.step")
    finally:
        server.stop()
    print(f"viewer ({args.zoom}): load {load_ms:.0f} ms; {stats['frames']} frames in {args.seconds:.0f} s "
          f"({stats['frames'] / args.seconds:.1f} fps), draw avg {stats['avgDrawMs']:.2f} ms, "
          f"max {stats['maxDrawMs']:.2f} ms; reached step {step}")


if __name__ == "__main__":
    main()
