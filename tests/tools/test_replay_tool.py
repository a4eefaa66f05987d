"""tools/replay.py as a user runs it: record, serve, fetch what the browser would fetch, stop
with Ctrl-C; open replays from disk and from S3; bad input refused in one line."""

from __future__ import annotations

import os
import socket
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

from mettagrid.replay import load_replay
from tests.ctrl_c import stop_with_ctrl_c
from tests.hardening.bad_input import assert_refused, run_command

ROOT = Path(__file__).resolve().parents[2]
REPLAY = str(ROOT / "tools" / "replay.py")
QUICK = ["replay_job.sim.env=mettagrid/navigation", 'replay_job.sim.env_overrides=["game.max_steps=50"]',
         "replay_job.open_browser_on_start=false", "replay_job.port=0"]


def start_replay_tool(*args: str) -> tuple[subprocess.Popen, str]:
    """Start the tool; returns it and the viewer URL it prints on stdout."""
    process = subprocess.Popen([REPLAY, "replay_job.serve=true", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = process.stdout.readline().strip()
    if not url.startswith("http://"):
        process.kill()
        raise AssertionError(f"no URL on stdout: {url!r}; stderr: {process.stderr.read()}")
    return process, url


def stop(process: subprocess.Popen) -> tuple[int, str]:
    returncode, _, stderr = stop_with_ctrl_c(process)
    return returncode, stderr


def fetch(url: str) -> tuple[int, bytes, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read(), response.headers.get("Content-Type", "")


def replay_url_of(viewer_url: str) -> str:
    parsed = urllib.parse.urlparse(viewer_url)
    [replay] = urllib.parse.parse_qs(parsed.query)["replay"]
    return f"{parsed.scheme}://{parsed.netloc}{replay}"


def test_records_serves_the_viewer_and_the_replay_then_stops_on_ctrl_c(tmp_path):
    process, url = start_replay_tool(*QUICK, f"replay_job.replay_dir={tmp_path}")
    try:
        status, page, content_type = fetch(url)
        assert status == 200 and "text/html" in content_type
        assert b"/static/" in page  # the page loads its scripts from the server
        status, data, _ = fetch(replay_url_of(url))
        replay = load_replay(data)
        assert replay["max_steps"] == 50 and replay["metadata"]["policy"] == "scripted"
    finally:
        code, stderr = stop(process)
    assert code == 0, stderr
    [written] = tmp_path.glob("scripted_mettagrid_navigation_*.json.z")
    assert load_replay(written)["grid_objects"] == replay["grid_objects"]
    assert f"50 steps written to {written}" in stderr
    assert f"replay viewer: open {url}" in stderr


def test_opens_an_existing_replay_from_s3(tmp_path, s3_endpoint):
    import boto3

    done = subprocess.run([REPLAY, *QUICK, "replay_job.serve=false", f"replay_job.replay_dir={tmp_path}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [written] = tmp_path.glob("*.json.z")
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="replay-tool")
    s3.upload_file(str(written), "replay-tool", "runs/ep.json.z")

    process, url = start_replay_tool("replay_job.replay_uri=s3://replay-tool/runs/ep.json.z",
                                     "replay_job.open_browser_on_start=false", "replay_job.port=0")
    try:
        _, data, _ = fetch(replay_url_of(url))
        assert data == written.read_bytes()
        assert url.endswith("/replays/ep.json.z")
    finally:
        code, stderr = stop(process)
    assert code == 0, stderr


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return run_command([REPLAY, *args], timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert_refused(result, fragment, exit_code=2)


def test_bad_inputs_are_one_line_errors(tmp_path):
    assert_one_line_error(run_tool("replay_job.replay_uri=/nowhere/x.json.z"),
                          "replay_job.replay_uri: /nowhere/x.json.z: no such file")
    junk = tmp_path / "junk.json.z"
    junk.write_bytes(b"not a replay")
    assert_one_line_error(run_tool(f"replay_job.replay_uri={junk}"), f"{junk}: not a replay file")
    assert_one_line_error(run_tool("replay_job.policy_uri=file:///nowhere/checkpoints", "replay_job.serve=false"),
                          "replay_job.policy_uri")
    assert_one_line_error(run_tool("replay_job.sim.env=mettagrid/nowhere", "replay_job.serve=false"), "nowhere")
    assert_one_line_error(run_tool("replay_job.prot=1"), "replay_job.prot")

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_tool(*QUICK[:-1], f"replay_job.port={port}", f"replay_job.replay_dir={tmp_path}/out",
                          "replay_job.serve=true")
    # the server starts before the episode is recorded: nothing is written for a busy port
    assert_one_line_error(result, f"replay_job.port: cannot serve on 127.0.0.1:{port}")
    assert not (tmp_path / "out").exists()


def headless() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}


def test_without_a_display_replay_writes_prints_the_path_and_exits(tmp_path):
    # as typed in the docs (the env and the episode shortened), with no display and no serve=
    result = subprocess.run([REPLAY, "replay_job.sim.env=mettagrid/memory", "replay_job.open_browser_on_start=false",
                             'replay_job.sim.env_overrides=["game.max_steps=30"]', f"replay_job.replay_dir={tmp_path}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, env=headless())
    assert result.returncode == 0, result.stderr
    [written] = tmp_path.glob("scripted_mettagrid_memory_*.json.z")
    assert load_replay(written)["max_steps"] == 30
    assert f"replay_job.replay_uri={written} replay_job.serve=true" in result.stderr
    assert result.stdout == ""  # no viewer URL: nothing is served


def test_without_a_display_play_records_the_policy_and_says_how_to_play(tmp_path):
    play = str(ROOT / "tools" / "play.py")
    result = subprocess.run([play, "replay_job.sim.env=mettagrid/navigation", f"replay_job.replay_dir={tmp_path}",
                             'replay_job.sim.env_overrides=["game.max_steps=20"]'],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, env=headless())
    assert result.returncode == 0, result.stderr
    [written] = tmp_path.glob("play_simple_mettagrid_navigation_*.json.z")
    assert load_replay(written)["max_steps"] == 20
    assert "no display here" in result.stderr and "./tools/play.py replay_job.serve=true" in result.stderr


def test_without_a_display_the_serve_hint_names_a_real_port_when_port_is_0(tmp_path):
    result = subprocess.run([REPLAY, "replay_job.sim.env=mettagrid/memory", "replay_job.port=0",
                             'replay_job.sim.env_overrides=["game.max_steps=10"]', f"replay_job.replay_dir={tmp_path}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, env=headless(), check=False)
    assert result.returncode == 0, result.stderr
    assert "ssh -L 8000:localhost:8000" in result.stderr and "replay_job.port=8000" in result.stderr
    assert "ssh -L 0:" not in result.stderr
