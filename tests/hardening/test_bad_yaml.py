"""The bad-input table, malformed YAML: every tool that reads a YAML file refuses one that does
not parse with one line, `file:line:col: not valid YAML: what`, whichever way the file comes in
(a config group of `--config-dir`, `+experiment=`, `env.game.map=@file://`, `sweep_params=`,
a map, scene or converter input, a sweep's stored config, the `metta` settings).

Every case runs in a scratch directory holding the broken files, so the location shown is the
relative path the user typed, and nothing may appear in that directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hardening.bad_input import BadInput, assert_refused, run_command, snapshot

# Each file is broken at a known place; the fragment a case expects is that place.
BROKEN = {
    # an unclosed flow list: PyYAML notices at the next key
    "cfg/trainer/bad.yaml": "learning_rate: 0.1\nbatch_size: [1, 2\nfoo: bar\n",
    # a key indented under a scalar
    "cfg/env/mettagrid/bad.yaml": "game:\n  max_steps: 10\n    num_agents: 3\n",
    "cfg/agent/bad.yaml": "components:\n  - name: a\n   type: b\n",
    "cfg/experiment/bad.yaml": "# @package _global_\ntrainer:\n  gamma: {0.9\n",
    "cfg/sweep/bad.yaml": "metric: reward\nparameters:\n\tlr: 1\n",  # a tab cannot indent YAML
    "bad_map.yaml": "seed: 1\nsize: [3\n---\n###\n#@#\n###\n",
    "bad_builder.yaml": "type: random\nwidth: 10\n  height: 10\n",
    "bad_scene.yaml": "type: wfc\ngenerator: {pattern: 'x\n",
    "bad_upstream.yaml": "game:\n  num_agents: 2\n   max_steps: 5\n",
    "bad_sweep_params.yaml": "metric: reward\nparameters: {lr: 1\n",
    "train_dir/sweeps/sw/sweep.yaml": "metric: reward\nparameters: [\n",
    "root/.metta/settings.yaml": "hardware: cpu\nwandb: [off\n",
}

TRAINER = "cfg/trainer/bad.yaml:3:4: not valid YAML"
ENV = "cfg/env/mettagrid/bad.yaml:3:15: not valid YAML"
EXPERIMENT = "cfg/experiment/bad.yaml:4:1: not valid YAML"
MAP = "bad_map.yaml:2:9: not valid YAML"

CASES = [
    # Hydra tools: a config group or experiment of the user's --config-dir, a map file
    BadInput("train: trainer group", ("tools/train.py", "--config-dir", "cfg", "trainer=bad", "run=x"), TRAINER),
    BadInput("train: env group", ("tools/train.py", "--config-dir", "cfg", "env=mettagrid/bad", "run=x"), ENV),
    BadInput("train: agent group", ("tools/train.py", "--config-dir", "cfg", "agent=bad", "run=x"),
             "cfg/agent/bad.yaml:3:4: not valid YAML"),
    BadInput("train: +experiment", ("tools/train.py", "-cd", "cfg", "+experiment=bad", "run=x"), EXPERIMENT),
    BadInput("train: -m sweep over a bad group", ("tools/train.py", "-m", "--config-dir=cfg", "trainer=bad,fast"),
             TRAINER),
    BadInput("train: --cfg job", ("tools/train.py", "--cfg", "job", "--config-dir", "cfg", "trainer=bad"), TRAINER),
    BadInput("train: map file", ("tools/train.py", "env.game.map=@file://bad_map.yaml"), MAP),
    BadInput("sim", ("tools/sim.py", "--config-dir", "cfg", "+experiment=bad"), EXPERIMENT),
    BadInput("analyze", ("tools/analyze.py", "--config-dir", "cfg", "+experiment=bad"), EXPERIMENT),
    BadInput("dashboard", ("tools/dashboard.py", "--config-dir", "cfg", "+experiment=bad"), EXPERIMENT),
    BadInput("replay", ("tools/replay.py", "--config-dir", "cfg", "+experiment=bad"), EXPERIMENT),
    BadInput("play", ("tools/play.py", "--config-dir", "cfg", "+experiment=bad"), EXPERIMENT),
    BadInput("renderer: env group", ("tools/renderer.py", "--config-dir", "cfg", "env=mettagrid/bad"), ENV),
    BadInput("autotune: trainer group", ("tools/autotune.py", "--config-dir", "cfg", "trainer=bad"), TRAINER),
    BadInput("stats_duckdb_cli", ("tools/stats_duckdb_cli.py", "--config-dir", "cfg", "+experiment=bad"),
             EXPERIMENT),
    BadInput("sweep_init: sweep_params", ("tools/sweep_init.py", "sweep_name=s", "sweep_params=bad_sweep_params.yaml"),
             "bad_sweep_params.yaml:3:1: not valid YAML"),
    BadInput("sweep_execute: sweep group", ("tools/sweep_execute.py", "--config-dir", "cfg", "sweep=bad",
                                            "sweep_name=s"), "cfg/sweep/bad.yaml:3:1: not valid YAML"),
    BadInput("sweep_eval", ("tools/sweep_eval.py", "--config-dir", "cfg", "+experiment=bad", "run=s.r.0"), EXPERIMENT),
    BadInput("validate_config: map file", ("tools/validate_config.py", "configs/train_job.yaml",
                                           "env.game.map=@file://bad_map.yaml"), MAP),
    BadInput("run.py: map file", ("tools/run.py", "train", "arena", "env.game.map=@file://bad_map.yaml"), MAP),
    # files handed to argparse tools
    BadInput("map/gen", ("tools/map/gen.py", "bad_builder.yaml"), "bad_builder.yaml:3:9: not valid YAML"),
    BadInput("map/gen_scene", ("tools/map/gen_scene.py", "./bad_scene.yaml", "10", "10"),
             "bad_scene.yaml:3:1: not valid YAML"),
    BadInput("map/view", ("tools/map/view.py", "bad_map.yaml"), MAP),
    BadInput("map/normalize_ascii_map", ("tools/map/normalize_ascii_map.py", "bad_map.yaml", "--in-place"), MAP),
    BadInput("map/normalize_scene_patterns", ("tools/map/normalize_scene_patterns.py", "bad_scene.yaml"),
             "bad_scene.yaml:3:1: not valid YAML"),
    BadInput("upload_map_imgs", ("tools/upload_map_imgs.py", "bad_map.yaml", "--dry-run"), MAP),
    BadInput("convert_config", ("tools/convert_config.py", "bad_upstream.yaml"),
             "bad_upstream.yaml:3:13: not valid YAML"),
    # stored state read back
    BadInput("get_best_params_from_sweep", ("tools/get_best_params_from_sweep.py", "sweep_name=sw"),
             "train_dir/sweeps/sw/sweep.yaml:3:1: not valid YAML"),
    BadInput("sweep_dashboard", ("tools/sweep_dashboard.py", "--sweep-name", "sw", "--no-browser", "--port", "0"),
             "train_dir/sweeps/sw/sweep.yaml:3:1: not valid YAML"),
    BadInput("metta status: settings", ("metta", "status", "--root", "root"),
             "root/.metta/settings.yaml:3:1: not valid YAML"),
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad_yaml")
    for name, text in BROKEN.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_malformed_yaml_is_one_line_with_its_location(case: BadInput, scratch: Path):
    before = snapshot(scratch)
    result = run_command(case.argv, cwd=scratch, env=case.env)
    line = assert_refused(result, case.fragment)
    assert line.startswith("error: ") and result.returncode == 2, line
    assert snapshot(scratch) == before, "a refused command wrote files"
