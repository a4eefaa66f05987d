"""The map command lines of the original's docs, typed as they are written there: the named map
configs, `seed=`/`density=` overrides, scene paths under configs/, the recipe-era
`packages/mettagrid/.../mapgen/tools/` paths, a stored map played with
`env.game.map=@file://...`, and upload_map_imgs.py without flags."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mettagrid.map_builder import build_map, count_agents, load_scene, parse_map_builder_config
from mettagrid.map_builder.ascii import load_stored_map, parse_stored_map

ROOT = Path(__file__).resolve().parents[2]
MAPS = "configs/env/mettagrid/maps"
RECIPE_TOOLS = "packages/mettagrid/python/src/mettagrid/mapgen/tools"


def run(command: str, *args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    script = command if command.startswith("/") else str(ROOT / command)
    return subprocess.run([script, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, check=False)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


@pytest.mark.parametrize("name", ["maze_9x9", "wfc_dungeon", "random", "base", "template"])
def test_every_named_map_config_builds(name):
    result = ok(run("tools/map/gen.py", f"{MAPS}/{name}.yaml", "--seed", "3"))
    grid, _ = parse_stored_map(result.stdout)
    assert count_agents(grid) >= 1 and (grid == "wall").any()


def test_overrides_as_flag_and_as_positional_string_with_density_and_seed():
    flag = ok(run("tools/map/gen.py", f"{MAPS}/base.yaml", "--overrides", "width=50 height=50 density=0.7 seed=4"))
    positional = ok(run(f"{RECIPE_TOOLS}/gen.py", f"{MAPS}/base.yaml", "width=50 height=50 density=0.7", "--seed=4"))
    assert flag.stdout == positional.stdout
    grid, _ = parse_stored_map(flag.stdout)
    interior = grid[1:-1, 1:-1]
    assert interior.shape == (50, 50)
    assert abs(np.count_nonzero(interior == "wall") / interior.size - 0.7) < 0.01
    assert "seed 4" in flag.stderr
    sparse = parse_stored_map(ok(run("tools/map/gen.py", f"{MAPS}/base.yaml", "seed=4")).stdout)[0]
    assert np.count_nonzero(sparse[1:-1, 1:-1] == "wall") < 0.2 * sparse[1:-1, 1:-1].size

    # a key the builder does not have, and a seed that contradicts --seed: one line each
    maze = run("tools/map/gen.py", f"{MAPS}/maze_9x9.yaml", "density=0.5")
    assert maze.returncode == 2 and maze.stderr.strip() == (
        f"error: {MAPS}/maze_9x9.yaml: maze.density: unknown key (got 0.5)")
    both = run("tools/map/gen.py", f"{MAPS}/base.yaml", "seed=4", "--seed", "5")
    assert both.returncode == 2 and "seed=4 contradicts --seed=5" in both.stderr


def test_random_density_fills_that_fraction_with_walls():
    config = parse_map_builder_config({"type": "random", "width": 20, "height": 10, "density": 0.25, "agents": 2})
    grid = build_map(config, 0)
    assert np.count_nonzero(grid == "wall") == 50 and count_agents(grid) == 2
    assert np.array_equal(build_map({"type": "random", "width": 9, "height": 9, "agents": 3}, 1),
                          build_map({"type": "random", "width": 9, "height": 9, "agents": 3, "density": 0}, 1))


def test_scene_paths_under_configs_and_seed_override():
    by_path = ok(run("tools/map/gen_scene.py", "scenes/convchain/maze.yaml", "24", "20", "--overrides", "seed=42"))
    positional = ok(run(f"{RECIPE_TOOLS}/gen_scene.py", "scenes/convchain/maze.yaml", "24", "20", "seed=42"))
    by_name = ok(run("tools/map/gen_scene.py", "convchain/maze", "24", "20", "--seed", "42"))
    assert by_path.stdout == positional.stdout == by_name.stdout
    assert parse_stored_map(by_path.stdout)[0].shape == (20, 24)
    grid = ok(run("tools/map/gen_scene.py", "scenes/test/grid.yaml", "16", "16", "--show-mode=ascii"))
    assert parse_stored_map(grid.stdout)[0].shape == (16, 16)
    small = load_scene("scenes/test/grid.yaml", 16, 16)  # the documented size builds with any seed
    assert all(np.count_nonzero(build_map(small, seed) == "altar") == 6 for seed in range(40))
    blob = ok(run("tools/map/gen_scene.py", "scenes/wfc/blob.yaml", "32", "32", "--show-mode=none"))
    assert "map 1/1: 32x32" in blob.stderr


def test_map_development_workflow_template_to_renderer(tmp_path):
    # 1. generate (the recipe-era form: the overrides positional after --output-uri)
    ok(run(f"{RECIPE_TOOLS}/gen.py", str(ROOT / MAPS / "template.yaml"), "--output-uri=./my_map.yaml", "seed=42",
           cwd=tmp_path))
    grid, metadata = load_stored_map(tmp_path / "my_map.yaml")
    assert metadata["seed"] == 42 and count_agents(grid) == 2
    assert np.array_equal(build_map(parse_map_builder_config(metadata["config"]), 42), grid)
    # 2. view, through the recipe-era path too
    for viewer in ("tools/map/view.py", f"{RECIPE_TOOLS}/view.py"):
        shown = ok(run(viewer, "./my_map.yaml", "--show-mode=ascii", cwd=tmp_path))
        assert np.array_equal(parse_stored_map(shown.stdout)[0], grid)
    # 3. normalize in place: a map gen.py wrote is already canonical and keeps its front matter
    before = (tmp_path / "my_map.yaml").read_text()
    normalized = ok(run("tools/map/normalize_ascii_map.py", "./my_map.yaml", "--in-place", cwd=tmp_path))
    assert "already canonical" in normalized.stderr and (tmp_path / "my_map.yaml").read_text() == before
    # 4. the renderer plays the arena's rules on that map, with the map's two agents
    played = ok(run("tools/renderer.py", "env.game.map=@file://./my_map.yaml", "renderer_job.num_steps=3",
                    cwd=tmp_path))
    assert "agents 2" in played.stdout
    frame = played.stdout.split("step 3")[0].strip().splitlines()[-grid.shape[0]:]
    assert np.array_equal(np.array([list(row) for row in frame]) == "#", grid == "wall")  # the walls of my_map
    missing = run("tools/renderer.py", "env.game.map=@file://./nope.yaml", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip().startswith("error: env.game.map: @file://./nope.yaml")


def test_pil_without_a_display_saves_and_says_so(tmp_path):
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": ""}
    result = ok(run("tools/map/gen.py", f"{MAPS}/maze_9x9.yaml", "--show-mode=PIL", "--seed", "0", env=env))
    line = next(line for line in result.stderr.splitlines() if line.startswith("map image: "))
    png = Path(line.split()[2])
    assert "no display" in line and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_random_maps_to_s3_and_upload_images_without_flags(tmp_path, s3_endpoint):
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="typed-maps")
    ok(run("tools/map/gen.py", f"{MAPS}/random.yaml", "--output-uri=s3://typed-maps/maps/", "--count=3", "--seed=0"))
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="typed-maps")["Contents"])
    assert keys == ["maps/random_0.yaml", "maps/random_1.yaml", "maps/random_2.yaml"]
    viewed = ok(run(f"{RECIPE_TOOLS}/view.py", "s3://typed-maps/maps/"))
    assert count_agents(parse_stored_map(viewed.stdout)[0]) == 6

    # upload_map_imgs.py with no flags: the images of the current directory, to the default prefix
    s3.create_bucket(Bucket="softmax-public")
    images = tmp_path / "imgs"
    images.mkdir()
    (images / "a.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (images / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0jpeg")
    (images / "notes.txt.bak").write_text("not an image")
    (images / "my_config.yaml").write_text("trainer:\n  batch_size: 1024\n")  # YAML, but no stored map
    env = {"METTA_MAP_IMAGES_URI": ""}
    dry = ok(run("tools/upload_map_imgs.py", "--dry-run", cwd=images, env=env))
    assert "would upload a.png -> s3://softmax-public/policydash/evals/img/a.png (image/png)" in dry.stdout
    assert "Contents" not in s3.list_objects_v2(Bucket="softmax-public")
    ok(run("tools/upload_map_imgs.py", cwd=images, env=env))
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket="softmax-public")["Contents"]}
    assert listed == {"policydash/evals/img/a.png", "policydash/evals/img/b.jpg"}
    jpeg = s3.get_object(Bucket="softmax-public", Key="policydash/evals/img/b.jpg")
    assert jpeg["ContentType"] == "image/jpeg" and jpeg["Body"].read() == (images / "b.jpg").read_bytes()
