"""`tools/replay.py` and `tools/play.py`: record or open a replay and show it in the browser viewer.

replay: play one episode of `replay_job.sim` with `replay_job.policy_uri` (or open an
existing file with `replay_job.replay_uri`), write it to `replay_job.replay_dir`, serve the
viewer and print its URL (opening it on a desktop).

play: the same viewer in live mode; the browser drives `replay_job.controlled_agent` over a
WebSocket while the policy plays the others; the episode is saved as a replay when it ends
or when the tool is stopped.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mettagrid.errors import ConfigError


class ReplaySimConfig(BaseModel):
    """The one simulation a replay is recorded in."""

    model_config = ConfigDict(extra="forbid")

    env: str = Field("mettagrid/arena/basic", description="Env config name under configs/env/")
    env_overrides: list[str] = Field(default_factory=list, description="key=value overrides of the env")
    max_time_s: float = Field(600.0, gt=0, description="Wall-clock budget of the episode")


class ViewerJobConfig(BaseModel):
    """Settings both tools share."""

    model_config = ConfigDict(extra="forbid")

    sim: ReplaySimConfig = Field(default_factory=ReplaySimConfig)
    policy_uri: str = Field("metta://policy/scripted", description="file://, s3://, wandb:// or metta://policy/<name>")
    selector_type: Literal["latest", "top"] = Field("latest", description="Which checkpoint of a run")
    replay_dir: str = Field("train_dir/replays", description="Where replays are written: a directory or s3:// prefix")
    open_browser_on_start: bool = Field(True, description="Open the viewer in the desktop's browser (if there is one)")
    host: str = Field("127.0.0.1", description="Interface the viewer server listens on")
    port: int = Field(8000, ge=0, le=65535, description="Port of the viewer server; 0 = any free port")
    seed: int = 0
    device: str = "cpu"
    serve: bool | None = Field(
        None, description="Serve the viewer until interrupted; false = write the replay and exit; "
                          "null = serve when there is a display (headless: write, print the path, exit)")

    def serving(self) -> bool:
        from metta.viewer.server import has_display

        return self.serve if self.serve is not None else has_display()


class ReplayJobConfig(ViewerJobConfig):
    replay_uri: str | None = Field(None, description="Open this replay (path, file:// or s3://) instead of recording")


class PlayJobConfig(ViewerJobConfig):
    policy_uri: str = Field("metta://policy/simple", description="The policy playing every other agent")
    controlled_agent: int = Field(0, ge=0, description="The agent the browser controls")


# ---------------------------------------------------------------------------------------------
# replay.py


def run_replay_job(job: ReplayJobConfig, log=sys.stderr, wait=None) -> dict[str, Any]:
    """Record (or fetch) the replay, then serve it. Returns {"replay": where, "url": viewer URL}.
    The server starts first, so a busy port is reported before any work is done."""
    server = None
    if job.serving():
        from metta.viewer.server import ViewerServer

        server = _start_server(ViewerServer(job.host, job.port), job)
    try:
        if job.replay_uri:
            local = fetch_replay(job.replay_uri)
            written = job.replay_uri
        else:
            replay = record_policy_replay(job, log)
            written = save_replay(replay, job.replay_dir, _replay_name(job, replay["metadata"]["policy"]), log)
            local = written if not written.startswith("s3://") else _local_copy(replay)
        result: dict[str, Any] = {"replay": written, "url": None}
        if server is None and job.serve is None:
            port = _tunnel_port(job)
            print(f"replay: no display here, so no viewer was started; to serve it (e.g. over ssh -L "
                  f"{port}:localhost:{port}): ./tools/replay.py replay_job.replay_uri={written} "
                  f"replay_job.serve=true" + (f" replay_job.port={port}" if port != job.port else ""), file=log)
        if server is not None:
            result["url"] = url = server.publish(local)
            _announce(url, job, log, what="replay viewer")
            (wait or _wait_for_interrupt)()
        return result
    finally:
        if server is not None:
            server.stop()


def record_policy_replay(job: ViewerJobConfig, log) -> dict[str, Any]:
    from metta.agent.compat import PolicyEnvMismatch
    from metta.sim.replay import record_episode
    from mettagrid.env_configs import compose_env_config

    spec = _resolve_policy(job)
    env_config = compose_env_config(job.sim.env, job.sim.env_overrides)
    metadata = {"policy_uri": spec.uri, "policy": spec.name, "env": job.sim.env, "seed": job.seed}
    with _StepProgress(env_config.game.max_steps, f"replay: {spec.name} on {job.sim.env}", log) as progress:
        try:
            return record_episode(env_config, lambda env: spec.make_actor(env, job.device, job.seed), seed=job.seed,
                                  max_time_s=job.sim.max_time_s, metadata=metadata, on_step=progress.update)
        except PolicyEnvMismatch as error:
            raise ConfigError(f"replay_job.policy_uri: {spec.name} cannot play {job.sim.env}: {error}") from None


def save_replay(replay: dict[str, Any], replay_dir: str, name: str, log) -> str:
    from metta.sim.replay import replay_destination, write_replay

    if "://" in replay_dir and not replay_dir.startswith(("s3://", "file://")):
        raise ConfigError(f"replay_job.replay_dir: {replay_dir}: use a local directory or an s3:// prefix")
    where = write_replay(replay, replay_destination(replay_dir.removeprefix("file://"), name), "replay_job.replay_dir")
    print(f"replay: {replay['max_steps']} steps written to {where}", file=log)
    return where


def fetch_replay(uri: str) -> str:
    """A local, readable replay file for `uri` (s3:// objects are downloaded)."""
    from metta.common.uri import download_file, local_path, parse_s3_uri, s3_errors, uri_scheme
    from mettagrid.replay import ReplayFormatError, load_replay

    key = "replay_job.replay_uri"
    scheme = uri_scheme(uri)
    if scheme == "s3":
        try:
            bucket, object_key = parse_s3_uri(uri)
        except ValueError as error:
            raise ConfigError(f"{key}: {error}") from None
        path = Path(tempfile.mkdtemp(prefix="metta-replay-")) / Path(object_key).name
        with s3_errors(uri, key):
            download_file(bucket, object_key, path)
    elif scheme != "file":
        raise ConfigError(f"{key}: {uri}: use a local path, file:// or s3://")
    else:
        path = local_path(uri)
        if not path.is_file():
            raise ConfigError(f"replay_job.replay_uri: {uri}: no such file")
    try:
        load_replay(path)
    except ReplayFormatError as error:
        raise ConfigError(f"replay_job.replay_uri: {error}") from None
    return str(path)


# ---------------------------------------------------------------------------------------------
# play.py


def run_play_job(job: PlayJobConfig, log=sys.stderr, wait=None) -> dict[str, Any]:
    from metta.agent.compat import PolicyEnvMismatch
    from metta.sim.replay import replay_destination, write_replay
    from metta.viewer.live import PlaySession
    from metta.viewer.server import ViewerServer
    from mettagrid.env_configs import compose_env_config

    if not job.serving():
        return _play_headless(job, log)
    spec = _resolve_policy(job)
    env_config = compose_env_config(job.sim.env, job.sim.env_overrides)
    if "://" in job.replay_dir and not job.replay_dir.startswith(("s3://", "file://")):
        raise ConfigError(f"replay_job.replay_dir: {job.replay_dir}: use a local directory or an s3:// prefix")
    destination = replay_destination(job.replay_dir.removeprefix("file://"), _replay_name(job, spec.name, prefix="play"))

    def save(replay: dict[str, Any]) -> str:
        where = write_replay(replay, destination, "replay_job.replay_dir")
        print(f"play: {replay['max_steps']} steps written to {where}", file=log)
        return where

    try:
        session = PlaySession(env_config, lambda env: spec.make_actor(env, job.device, job.seed),
                              controlled_agent=job.controlled_agent, seed=job.seed, save=save,
                              metadata={"policy_uri": spec.uri, "env": job.sim.env, "seed": job.seed})
    except PolicyEnvMismatch as error:
        raise ConfigError(f"replay_job.policy_uri: {spec.name} cannot play {job.sim.env}: {error}") from None
    except ValueError as error:
        raise ConfigError(f"replay_job.controlled_agent: {error}") from None
    server = _start_server(ViewerServer(job.host, job.port, session=session), job)
    url = server.viewer_url(live=True)
    try:
        _announce(url, job, log, what="play")
        print(f"play: you control agent {job.controlled_agent}; {spec.name} plays the other "
              f"{session.env.num_agents - 1}. Keys: arrows/WASD move, E get, R put, F attack, X swap, "
              f"space noop, ? help. Ctrl-C stops and saves.", file=log)
        (wait or _wait_for_interrupt)()
    finally:
        server.stop()
        saved = session.finish()
        session.close()
    return {"replay": saved, "url": url, "steps": session.human_actions}


def _tunnel_port(job: ViewerJobConfig) -> int:
    """The port to name in an ssh tunnel hint: port 0 (any free port) cannot be tunnelled ahead."""
    return job.port or 8000


def _port_word(job: ViewerJobConfig) -> str:
    return f" replay_job.port={_tunnel_port(job)}" if job.port == 0 else ""


def _play_headless(job: PlayJobConfig, log) -> dict[str, Any]:
    """No display (and no replay_job.serve=true): nobody can drive an agent, so the policy plays
    every agent, the episode is written as a replay, and the way to play over ssh is printed.
    The notice comes once the env and policy are known to work: a bad one is then the only line."""
    replay = record_policy_replay(job, log)
    print(f"play: no display here, so nobody could take agent {job.controlled_agent}; recorded "
          f"{job.policy_uri} playing every agent instead. To play from a browser elsewhere: "
          f"./tools/play.py replay_job.serve=true{_port_word(job)} (and ssh -L {_tunnel_port(job)}:localhost:"
          f"{_tunnel_port(job)})", file=log)
    written = save_replay(replay, job.replay_dir, _replay_name(job, replay["metadata"]["policy"], prefix="play"), log)
    return {"replay": written, "url": None, "steps": 0}


# ---------------------------------------------------------------------------------------------
# shared


def _resolve_policy(job: ViewerJobConfig):
    from metta.agent.policy_uri import resolve_policies

    try:
        spec = resolve_policies(job.policy_uri, selector=job.selector_type)[0]
        spec.load(job.device)
    except ValueError as error:
        raise ConfigError(f"replay_job.policy_uri: {error}") from None
    return spec


def _replay_name(job: ViewerJobConfig, policy: str, prefix: str = "") -> str:
    """`[<prefix>_]<policy>_<env>_<time>`: which policy, where, when; safe as a file name."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    env = job.sim.env.replace("/", "_")
    parts = [prefix, policy, env, stamp] if prefix else [policy, env, stamp]
    return "_".join("".join(ch if ch.isalnum() or ch in "-_.:" else "_" for ch in part) for part in parts)


def _local_copy(replay: dict[str, Any]) -> str:
    from metta.sim.replay import write_replay

    path = Path(tempfile.mkdtemp(prefix="metta-replay-")) / "replay.json.z"
    return write_replay(replay, path)


def _start_server(server, job: ViewerJobConfig):
    try:
        server.start()
    except OSError as error:
        raise ConfigError(f"replay_job.port: {error.strerror} (use replay_job.port=0 for any free port)") from None
    return server


def _announce(url: str, job: ViewerJobConfig, log, what: str) -> None:
    from metta.viewer.server import open_in_browser

    print(f"{what}: open {url}", file=log)
    print(url, flush=True)  # stdout: the URL alone, for scripts
    if job.open_browser_on_start and open_in_browser(url):
        print(f"{what}: opened in your browser", file=log)
    log.flush()


def _wait_for_interrupt() -> None:
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


class _StepProgress:
    """A progress bar over an episode's steps on a terminal; nothing when piped."""

    def __init__(self, total: int, label: str, log):
        self.total, self.label, self.log = total or None, label, log
        self._progress = self._task = None

    def __enter__(self) -> _StepProgress:
        if getattr(self.log, "isatty", lambda: False)():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), console=Console(file=self.log), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total)
        return self

    def update(self, step: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=step)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()


def replay_main(cfg) -> None:
    """tools/replay.py."""
    from metta.common.tool import validate_job

    run_replay_job(validate_job(cfg, "replay_job")["replay_job"])


def play_main(cfg) -> None:
    """tools/play.py."""
    from metta.common.tool import validate_job

    run_play_job(validate_job(cfg, "play_job")["replay_job"])
