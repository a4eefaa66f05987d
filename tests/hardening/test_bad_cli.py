"""The bad-input table, command lines: wrong types, unknown keys, missing required values, bad
paths, bad URIs (an unknown scheme, s3:// without a bucket) and out-of-range numbers, for every
tool under tools/, `cogames` and `metta`. Each is refused with one line naming the fault.

The cogames cases include the login file (not JSON, missing keys, wrong types, unreadable) and
policy references (`-p`) that cannot name a policy. Every case runs in a scratch directory, and
nothing may appear in it; none reaches a server or trains.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hardening.bad_input import BadInput, assert_refused, run_command, snapshot

# Login files for `cogames`, each damaged in one way (COGAMES_TOKEN_FILE points at one).
LOGINS = {
    "login_not_json.json": '{"server": "http://127.0.0.1:8765",',
    "login_missing.json": json.dumps({"server": "http://127.0.0.1:8765"}),
    "login_types.json": json.dumps({"server": "http://127.0.0.1:8765", "user": "alice", "token": 42}),
    "login_no_scheme.json": json.dumps({"server": "127.0.0.1:8765", "user": "alice", "token": "mtt_x"}),
}
UNREADABLE_LOGIN = "login_dir.json"  # a directory where the login file should be


def login(name: str) -> dict[str, str]:
    return {"COGAMES_TOKEN_FILE": name}


NO_LOGIN = login("no_login.json")  # cogames never reads or writes the user's own login file

CASES = [
    # tools/train.py: unknown key, wrong type, out of range, a missing --config-dir
    BadInput("train: unknown key", ("tools/train.py", "trainer.learning_rat=1e-3"), "trainer.learning_rat"),
    BadInput("train: wrong type", ("tools/train.py", "trainer.batch_size=lots"), "trainer.batch_size"),
    BadInput("train: out of range", ("tools/train.py", "trainer.total_timesteps=-5"), "trainer.total_timesteps"),
    BadInput("train: unknown env", ("tools/train.py", "env=mettagrid/no_such_env"), "no_such_env"),
    BadInput("train: unknown group option", ("tools/train.py", "agent=no_such_agent"),
             "Could not find 'agent/no_such_agent' Available options in 'agent': cortex, fast, graph,"),
    BadInput("train: no such --config-dir", ("tools/train.py", "--config-dir", "no_such_dir"),
             "--config-dir: no_such_dir: no such directory"),
    # sim, analyze, dashboard: URIs and paths
    BadInput("sim: unknown scheme", ("tools/sim.py", "sim_job.policy_uris=[gopher://x]"), "gopher"),
    BadInput("sim: s3 without bucket", ("tools/sim.py", "sim_job.policy_uris=[metta://policy/random]",
                                        "sim_job.stats_db_uri=s3://"), "s3://"),
    BadInput("analyze: missing db", ("tools/analyze.py", "analysis.eval_db_uri=./no_such.duckdb"), "no_such.duckdb"),
    BadInput("dashboard: port out of range", ("tools/dashboard.py", "dashboard.port=70000"), "dashboard.port"),
    BadInput("dashboard: unknown key", ("tools/dashboard.py", "dashboard.polices=[a]"), "dashboard.polices"),
    BadInput("observatory: port out of range", ("tools/observatory.py", "observatory.port=70000"), "observatory.port"),
    BadInput("observatory: train dir is a file", ("tools/observatory.py", "observatory.train_dirs=[/etc/passwd]"),
             "observatory.train_dirs[0]: /etc/passwd is a file"),
    # replay, play, renderer
    BadInput("replay: unknown scheme", ("tools/replay.py", "replay_job.policy_uri=gopher://x",
                                        "replay_job.serve=false"), "gopher"),
    BadInput("play: unknown env", ("tools/play.py", "replay_job.sim.env=mettagrid/no_such_env"), "no_such_env"),
    BadInput("renderer: out of range", ("tools/renderer.py", "renderer_job.num_agents=0"), "renderer_job.num_agents"),
    BadInput("renderer: wrong choice", ("tools/renderer.py", "renderer_job.frames=some"), "renderer_job.frames"),
    # sweeps
    BadInput("sweep_init: missing sweep_name", ("tools/sweep_init.py",), "sweep_name"),
    BadInput("sweep_init: no such sweep_params", ("tools/sweep_init.py", "sweep_name=s",
                                                  "sweep_params=no_such.yaml"), "no_such.yaml"),
    BadInput("sweep_execute: s3 without bucket", ("tools/sweep_execute.py", "sweep_name=s", "sweep_dir=s3://"),
             "s3://"),
    BadInput("sweep_eval: missing sweep", ("tools/sweep_eval.py",), "sweep_name"),
    BadInput("get_best_params: no such sweep", ("tools/get_best_params_from_sweep.py", "sweep_name=no_such"),
             "no_such"),
    BadInput("sweep_dashboard: missing --sweep-name", ("tools/sweep_dashboard.py", "--no-browser"), "--sweep-name"),
    # autotune, stats
    BadInput("autotune: out of range", ("tools/autotune.py", "autotune.num_envs=[0]"), "autotune.num_envs"),
    BadInput("stats_duckdb_cli: unknown scheme", ("tools/stats_duckdb_cli.py", "+eval_db_uri=gopher://x/db"),
             "gopher"),
    # config files and maps
    BadInput("validate_config: no such config", ("tools/validate_config.py", "configs/no_such.yaml"), "no_such.yaml"),
    BadInput("convert_config: no such file", ("tools/convert_config.py", "no_such.yaml"), "no_such.yaml"),
    BadInput("convert_config: wrong --kind", ("tools/convert_config.py", "x.yaml", "--kind", "planet"), "planet"),
    BadInput("dump_src: no such path", ("tools/dump_src.py", "no_such_dir"), "no_such_dir"),
    BadInput("upload_map_imgs: no such file", ("tools/upload_map_imgs.py", "no_such.yaml", "--dry-run"),
             "no_such.yaml"),
    BadInput("map/gen: no such file", ("tools/map/gen.py", "no_such.yaml"), "no_such.yaml"),
    BadInput("map/gen: out of range", ("tools/map/gen.py", "configs/env/mettagrid/navigation.yaml", "--count=0"),
             "count"),
    BadInput("map/gen_scene: unknown scene", ("tools/map/gen_scene.py", "no_such/scene", "10", "10"), "no_such/scene"),
    BadInput("map/gen_scene: wrong type", ("tools/map/gen_scene.py", "wfc/blob", "wide", "10"), "wide"),
    BadInput("map/view: s3 without bucket", ("tools/map/view.py", "s3://"), "s3://"),
    BadInput("map/normalize_ascii_map: no such file", ("tools/map/normalize_ascii_map.py", "no_such.txt"),
             "no_such.txt"),
    BadInput("map/normalize_scene_patterns: no such file", ("tools/map/normalize_scene_patterns.py", "no_such.yaml"),
             "no_such.yaml"),
    BadInput("run.py: unknown tool", ("tools/run.py", "fly", "arena"), "fly"),
    BadInput("run.py: unknown key", ("tools/run.py", "train", "arena", "trainer.learning_rat=1"),
             "trainer.learning_rat"),
    # cogames: server URLs
    BadInput("cogames login: no scheme", ("cogames", "login", "--server", "127.0.0.1:8765", "--user", "bob"),
             "type http://127.0.0.1:8765", NO_LOGIN),
    BadInput("cogames login: wrong scheme", ("cogames", "login", "--server", "ftp://host:8765", "--user", "bob"),
             "type http://host:8765", NO_LOGIN),
    BadInput("cogames login: port not a number", ("cogames", "login", "--server", "http://host:port"),
             "port is not a number", NO_LOGIN),
    # cogames: the login file
    BadInput("cogames login file: not JSON", ("cogames", "submissions"), "login_not_json.json: not JSON",
             login("login_not_json.json")),
    BadInput("cogames login file: missing keys", ("cogames", "submit", "p"),
             "login_missing.json: missing user, token", login("login_missing.json")),
    BadInput("cogames login file: wrong type", ("cogames", "submissions"),
             "login_types.json: token must be a non-empty string (got 42)", login("login_types.json")),
    BadInput("cogames login file: server without scheme", ("cogames", "seasons"),
             "type http://127.0.0.1:8765", login("login_no_scheme.json")),
    BadInput("cogames login file: unreadable", ("cogames", "leaderboard"), "login_dir.json: cannot be read",
             login(UNREADABLE_LOGIN)),
    # cogames: policy references
    BadInput("cogames play: class path", ("cogames", "play", "-p", "my_module.MyPolicy", "-r", "log"),
             "a Python class path", NO_LOGIN),
    BadInput("cogames play: missing checkpoint", ("cogames", "play", "-p", "./no_such.pt", "-r", "log"),
             "-p ./no_such.pt: no such file or directory", NO_LOGIN),
    BadInput("cogames play: unknown built-in", ("cogames", "play", "-p", "no_such_policy", "-r", "log"),
             "unknown built-in policy", NO_LOGIN),
    BadInput("cogames scrimmage: class= path", ("cogames", "scrimmage", "-p", "class=pkg.Policy"),
             "a Python class path", NO_LOGIN),
    BadInput("cogames upload: class path", ("cogames", "upload", "-p", "my_module.MyPolicy", "-n", "x", "--dry-run"),
             "looks like a Python class", NO_LOGIN),
    BadInput("cogames upload: missing file", ("cogames", "upload", "-p", "./no_such_run", "-n", "x", "--dry-run"),
             "-p ./no_such_run: no such file or directory", NO_LOGIN),
    BadInput("cogames submit: bad reference", ("cogames", "submit", "my-policy:v3:extra"),
             "expected NAME or NAME:vN", NO_LOGIN),
    # cogames: types and ranges
    BadInput("cogames play: wrong type", ("cogames", "play", "-s", "many"), "invalid int value: 'many'", NO_LOGIN),
    BadInput("cogames scrimmage: out of range", ("cogames", "scrimmage", "-p", "role", "-e", "0"),
             "at least one episode", NO_LOGIN),
    BadInput("cogames run: bad proportion", ("cogames", "run", "-p", "role,proportion=half"),
             "proportion must be a number", NO_LOGIN),
    BadInput("cogames play: unknown mission", ("cogames", "play", "-m", "no_such_mission", "-r", "log"),
             "no_such_mission", NO_LOGIN),
    BadInput("cogames: unknown command", ("cogames", "fly"), "invalid choice: 'fly'", NO_LOGIN),
    # metta
    BadInput("metta: unknown command", ("metta", "deploy"), "invalid choice: 'deploy'"),
    BadInput("metta ci: wrong choice", ("metta", "ci", "--stage", "deploy"), "invalid choice: 'deploy'"),
    BadInput("metta configure: unknown hardware", ("metta", "configure", "--hardware", "no_such_box",
                                                   "--root", "."), "no_such_box"),
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad_cli")
    for name, text in LOGINS.items():
        (root / name).write_text(text)
    (root / UNREADABLE_LOGIN).mkdir()
    return root


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_command_line_is_one_line(case: BadInput, scratch: Path):
    before = snapshot(scratch)
    result = run_command(case.argv, cwd=scratch, env=case.env)
    line = assert_refused(result, case.fragment)
    assert line.startswith("error: "), line
    assert snapshot(scratch) == before, "a refused command wrote files"


def test_cogames_login_replaces_a_damaged_login_file(tmp_path: Path):
    """The damaged-file message says to run `cogames login` again, so login itself must not be
    refused by the file: it reads past it (here the server is then refused for its URL)."""
    (tmp_path / "login.json").write_text("{broken")
    result = run_command(("cogames", "login", "--server", "localhost:8765", "--user", "bob"), cwd=tmp_path,
                         env=login("login.json"))
    assert_refused(result, "type http://localhost:8765")
    assert (tmp_path / "login.json").read_text() == "{broken"  # nothing written on a refusal
