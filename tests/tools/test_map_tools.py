"""The map tools as a user types them: gen.py, gen_scene.py, view.py, the two normalizers and
upload_map_imgs.py, against real files and a local S3 server."""

from __future__ import annotations

import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

from mettagrid.map_builder import (
    build_map,
    count_agents,
    is_connected,
    list_scene_names,
    parse_map_builder_config,
)
from mettagrid.map_builder.ascii import load_stored_map, parse_stored_map
from mettagrid.replay import load_replay
from tests.ctrl_c import stop_with_ctrl_c
from tests.hardening.bad_input import assert_refused, run_command

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"


def run(tool: str, *args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    return run_command([str(TOOLS / tool), *args], cwd=cwd, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert_refused(result, fragment, exit_code=2, prefix="error: ")


MAZE = "type: maze\nalgorithm: kruskal\nwidth: 15\nheight: 11\nagents: 2\nborder_width: 1\n"


def test_gen_saves_a_directory_of_stored_maps_that_rebuild_exactly(tmp_path):
    config = tmp_path / "maze.yaml"
    config.write_text(MAZE)
    result = run("map/gen.py", str(config), "--output-uri", f"{tmp_path}/out/", "--count", "3", "--seed", "5",
                 "--connected", "--expect-agents", "2")
    assert result.returncode == 0, result.stderr
    files = sorted((tmp_path / "out").glob("*.yaml"))
    assert [f.name for f in files] == ["maze_5.yaml", "maze_6.yaml", "maze_7.yaml"]
    grids = []
    for seed, file in zip((5, 6, 7), files):
        grid, metadata = load_stored_map(file)
        assert metadata["seed"] == seed and grid.shape == (13, 17) and count_agents(grid) == 2
        assert is_connected(grid)
        rebuilt = build_map(parse_map_builder_config(metadata["config"]), metadata["seed"])
        assert np.array_equal(rebuilt, grid)  # the front matter is enough to make the map again
        grids.append(grid)
    assert not np.array_equal(grids[0], grids[1])
    assert f"map 3/3: 17x13, 2 agents, seed 7 -> {tmp_path}/out/maze_7.yaml" in result.stderr

    # overrides on the command line and in --overrides
    again = run("map/gen.py", str(config), "width=9", "--overrides", "height=7 agents=1", "--seed", "5")
    assert again.returncode == 0, again.stderr
    rows = again.stdout.strip().splitlines()
    assert (len(rows), len(rows[0])) == (9, 11) and "".join(rows).count("@") == 1


def test_gen_from_an_env_config_and_its_errors(tmp_path):
    env = ROOT / "configs" / "env" / "mettagrid" / "generated" / "bsp_rooms.yaml"
    result = run("map/gen.py", str(env), "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert parse_stored_map(result.stdout).__len__() == 2  # the ASCII printed is a valid map

    config = tmp_path / "maze.yaml"
    config.write_text(MAZE)
    assert_one_line_error(run("map/gen.py", str(config), "widht=3"), "widht")
    assert_one_line_error(run("map/gen.py", str(config), "--expect-agents", "3", "--seed", "0"),
                          "the map has 2 agents, --expect-agents asked for 3")
    assert_one_line_error(run("map/gen.py", str(tmp_path / "none.yaml")), "none.yaml: no such file")
    crowded = tmp_path / "crowded.yaml"
    crowded.write_text("type: bsp\nwidth: 12\nheight: 10\nrooms: 2\nagents: 300\n")
    assert_one_line_error(run("map/gen.py", str(crowded), "--seed", "0"), "bsp")
    assert_one_line_error(run("map/gen.py", str(config), "--count", "2", "--output-uri", str(tmp_path / "one.yaml")),
                          "needs a directory or s3:// prefix")


def test_gen_to_s3_and_view_a_random_map_of_the_prefix(tmp_path, s3_endpoint):
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="maps-tool")
    config = tmp_path / "maze.yaml"
    config.write_text(MAZE)
    made = run("map/gen.py", str(config), "--output-uri", "s3://maps-tool/mazes/", "--count", "2", "--seed", "0")
    assert made.returncode == 0, made.stderr
    keys = sorted(o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="maps-tool")["Contents"])
    assert keys == ["mazes/maze_0.yaml", "mazes/maze_1.yaml"]
    expected = {build_map(parse_map_builder_config({**_yaml(MAZE)}), seed).tobytes() for seed in (0, 1)}

    viewed = run("map/view.py", "s3://maps-tool/mazes/", "--seed", "3")
    assert viewed.returncode == 0, viewed.stderr
    grid, _ = parse_stored_map(viewed.stdout)
    assert grid.tobytes() in expected
    assert "s3://maps-tool/mazes/maze_" in viewed.stderr
    assert viewed.stdout == run("map/view.py", "s3://maps-tool/mazes/", "--seed", "3").stdout  # seeded pick
    one = run("map/view.py", "s3://maps-tool/mazes/maze_1.yaml")
    assert one.returncode == 0 and parse_stored_map(one.stdout)[0].tobytes() in expected
    assert_one_line_error(run("map/view.py", "s3://maps-tool/nothing/"), "no map files under this prefix")


def _yaml(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)


def test_view_a_directory_and_show_modes(tmp_path):
    made = run("map/gen_scene.py", "wfc/blob", "24", "16", "--seed", "2", "--output-uri", f"{tmp_path}/maps/",
               "--count", "2")
    assert made.returncode == 0, made.stderr
    picked = run("map/view.py", str(tmp_path / "maps"), "--seed", "0")
    assert picked.returncode == 0, picked.stderr
    assert parse_stored_map(picked.stdout)[0].shape == (16, 24)

    image = run("map/view.py", str(tmp_path / "maps" / "wfc_blob_2.yaml"), "--show-mode", "PIL")
    assert image.returncode == 0, image.stderr
    png = Path(image.stderr.split("map image: ")[1].split()[0])
    from PIL import Image

    with Image.open(png) as opened:
        assert opened.format == "PNG" and opened.size[0] > 24 * 4

    assert_one_line_error(run("map/view.py", str(tmp_path / "nothing")), "no such file or directory")


def test_gen_scene_every_shipped_scene_and_mettascope_mode(tmp_path):
    for name in list_scene_names():
        result = run("map/gen_scene.py", name, "40", "30", "--seed", "1", "--show-mode", "none")
        assert result.returncode == 0, (name, result.stderr)
        assert "map 1/1: " in result.stderr

    process = subprocess.Popen([str(TOOLS / "map" / "gen_scene.py"), "bsp/rooms", "30", "20", "--seed", "4",
                                "--show-mode", "mettascope"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
        base = url.split("/?")[0]
        with urllib.request.urlopen(base + query["replay"][0], timeout=10) as response:
            replay = load_replay(response.read())
        assert replay["max_steps"] == 0 and replay["map_size"] == [30, 20]
    finally:
        returncode, _, _ = stop_with_ctrl_c(process)
    assert returncode == 0


def test_normalize_ascii_map_in_place_keeps_front_matter(tmp_path):
    path = tmp_path / "old.map"
    path.write_text("seed: 3\nlabels: [old]\n---\nWWWWW\nWA aW\nW^ s\nWWWWW\n")
    printed = run("map/normalize_ascii_map.py", str(path))
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == "seed: 3\nlabels: [old]\n---\n#####\n#@._#\n#@.s.\n#####\n"
    assert "line 6: padded with 1 '.'" in printed.stderr
    assert path.read_text().startswith("seed: 3")  # printing leaves the file alone

    done = run("map/normalize_ascii_map.py", str(path), "--in-place")
    assert done.returncode == 0, done.stderr
    grid, metadata = load_stored_map(path)
    assert metadata == {"seed": 3, "labels": ["old"]} and grid[1, 1] == "agent.agent" and grid[1, 3] == "altar"
    assert "normalized" in done.stderr
    assert "already canonical" in run("map/normalize_ascii_map.py", str(path), "--in-place").stderr

    terminal = tmp_path / "screen.txt"
    terminal.write_text("\x1b[37m█\x1b[0m\x1b[37m█\x1b[0m\x1b[37m█\x1b[0m\n█\x1b[92m▲\x1b[0m♥\n███\n")
    assert run("map/normalize_ascii_map.py", str(terminal)).stdout == "###\n#@_\n###\n"

    bad = tmp_path / "bad.map"
    bad.write_text("###\n#?#\n###\n")
    assert_one_line_error(run("map/normalize_ascii_map.py", str(bad)), "bad.map:2:2: unknown map character '?'")


def test_normalize_scene_patterns(tmp_path):
    for name in list_scene_names():  # the shipped library is canonical already
        path = ROOT / "configs" / "scenes" / f"{name}.yaml"
        if "pattern:" not in path.read_text():
            continue
        result = run("map/normalize_scene_patterns.py", str(path))
        assert result.returncode == 0, result.stderr
        assert result.stdout.rstrip("\n") == path.read_text().rstrip("\n"), name

    scene = tmp_path / "legacy.yaml"
    scene.write_text("# kept comment\ngenerator:\n  type: wfc\n  pattern_size: 2\n  pattern: |\n"
                     "    WWWW\n    W  W\n    W\n    WWWW\n")
    done = run("map/normalize_scene_patterns.py", str(scene), "--in-place")
    assert done.returncode == 0, done.stderr
    text = scene.read_text()
    assert text.startswith("# kept comment\n") and "    ####\n    #..#\n    #...\n    ####" in text
    from mettagrid.map_builder import load_scene

    grid = build_map(load_scene(str(scene), 12, 8), 0)
    assert grid.shape == (8, 12)
    quoted = tmp_path / "quoted.yaml"
    quoted.write_text('generator:\n  type: wfc\n  pattern: "##\\n.."\n')
    assert_one_line_error(run("map/normalize_scene_patterns.py", str(quoted)), "pattern is not a '|' block")


def test_upload_map_images_to_s3(tmp_path, s3_endpoint):
    import boto3

    made = run("map/gen_scene.py", "test/grid", "20", "20", "--seed", "0", "--output-uri", f"{tmp_path}/maps/")
    assert made.returncode == 0, made.stderr
    (tmp_path / "maps" / "extra.png").write_bytes(_png())
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="map-imgs")

    dry = run("upload_map_imgs.py", "--dry-run", "--s3-prefix", "s3://map-imgs/imgs", cwd=tmp_path / "maps")
    assert dry.returncode == 0, dry.stderr
    assert "would upload extra.png -> s3://map-imgs/imgs/extra.png (image/png)" in dry.stdout
    assert "would render and upload test_grid_0.yaml -> s3://map-imgs/imgs/test_grid_0.png" in dry.stdout
    assert "Contents" not in s3.list_objects_v2(Bucket="map-imgs")

    done = run("upload_map_imgs.py", str(tmp_path / "maps"), "--s3-prefix", "s3://map-imgs/imgs")
    assert done.returncode == 0, done.stderr
    for key in ("imgs/extra.png", "imgs/test_grid_0.png"):
        obj = s3.get_object(Bucket="map-imgs", Key=key)
        assert obj["ContentType"] == "image/png"
        assert obj["Body"].read()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_one_line_error(run("upload_map_imgs.py", str(tmp_path / "maps"), "--s3-prefix", ""), "--s3-prefix")


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "#123456").save(buffer, format="PNG")
    return buffer.getvalue()
