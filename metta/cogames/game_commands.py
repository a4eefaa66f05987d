"""`cogames play|policies|scrimmage|run|train`: playing, evaluating and training on CoGsGuard missions."""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from metta.cogames.tournament_commands import CommandError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MISSION = "cogsguard_arena.basic"
# `run -S <set>`: named groups of missions evaluated together.
MISSION_SETS = {
    "integrated_evals": ["cogsguard_arena.small", "cogsguard_arena.basic", "cogsguard_arena.no_clips"],
    "all": None,  # every mission
}


def add_commands(commands: argparse._SubParsersAction) -> None:
    play = commands.add_parser("play", help="Watch one episode: in the browser viewer, the terminal, or a log")
    play.add_argument("-m", "--mission", default=DEFAULT_MISSION)
    play.add_argument("-p", "--policy", default="role", help="Policy name (role, miner, ...), URI or checkpoint")
    play.add_argument("-r", "--render", choices=("gui", "unicode", "log"), default="gui")
    play.add_argument("-s", "--steps", type=int, default=None, help="Episode length (default: the mission's)")
    play.add_argument("--seed", type=int, default=0)
    play.add_argument("--sleep", type=float, default=0.0, help="unicode: seconds between frames")
    play.add_argument("--port", type=int, default=0, help="gui: viewer port (0 = any free port)")
    play.add_argument("--no-browser", action="store_true",
                      help="gui: serve and print the URL without opening a browser (also without a display)")
    play.add_argument("--no-serve", action="store_true", help="gui: write the replay and exit")
    play.set_defaults(run=cmd_play)

    policies = commands.add_parser("policies", help="The built-in policies")
    policies.set_defaults(run=cmd_policies)

    scrim = commands.add_parser("scrimmage", help="Episodes of one policy (as cogs) against an opponent")
    scrim.add_argument("-m", "--mission", default=DEFAULT_MISSION)
    scrim.add_argument("-p", "--policy", required=True)
    scrim.add_argument("-o", "--opponent", default=None, help="Who plays clips (default: the mission's baseline)")
    scrim.add_argument("-e", "--episodes", type=int, default=10)
    scrim.add_argument("-s", "--steps", type=int, default=None)
    scrim.add_argument("--seed", type=int, default=0)
    scrim.add_argument("--format", choices=("table", "json"), default="table")
    scrim.set_defaults(run=cmd_scrimmage)

    run = commands.add_parser("run", help="Several policies sharing the agents (proportion=N each)")
    run.add_argument("-m", "--mission", action="append", default=[], help="Mission (repeatable)")
    run.add_argument("-S", "--mission-set", choices=list(MISSION_SETS), help="A named set of missions")
    run.add_argument("-p", "--policy", action="append", required=True,
                     help="POLICY[,proportion=N] (repeatable); class=NAME is accepted for built-ins")
    run.add_argument("-e", "--episodes", type=int, default=3)
    run.add_argument("-s", "--steps", type=int, default=None)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--format", choices=("table", "json"), default="table")
    run.set_defaults(run=cmd_run)

    train = commands.add_parser("train", help="Train a policy on a mission with the project's trainer")
    train.add_argument("-m", "--mission", default=DEFAULT_MISSION)
    train.add_argument("--steps", type=int, default=1_000_000, help="Agent steps to train for")
    train.add_argument("--batch-size", type=int, default=None, help="Agent steps per rollout")
    train.add_argument("--device", default="auto", help="cpu, cuda, cuda:N, mps; auto (default): cuda when there is one")
    train.add_argument("-p", "--policy-arch", "--policy", dest="arch", default="lstm",
                       choices=("lstm", "attention"), help="lstm = the `fast` CNN+LSTM; attention = latent_attn_small")
    train.add_argument("--run", dest="run_name", default=None, help="Run name (default: cogames_<mission>_<time>)")
    train.add_argument("--train-dir", default="train_dir")
    train.add_argument("--teacher", default=None,
                       help="Behavioural cloning from this policy (e.g. 'cogsguard?gear=10'): the sliced cloner")
    train.add_argument("--teacher-led", type=float, default=0.5, help="Share of agents acting as the teacher does")
    train.add_argument("--student-led", type=float, default=0.5, help="Share acting themselves, cloned toward it")
    train.add_argument("overrides", nargs="*", help="More tools/train.py overrides (key=value)")
    train.set_defaults(run=cmd_train)


# ---------------------------------------------------------------------------------------------


# A `-p` value that names a file: a checkpoint's suffix, or a path written as one.
CHECKPOINT_SUFFIXES = (".pt", ".zip", ".gz")
POLICY_CHOICES = ("a built-in name (`cogames policies` lists them), a checkpoint .pt, a run directory, "
                  "or a URI (file://, s3://, wandb://, metta://policy/<name>)")


def check_policy_text(text: str) -> str:
    """What `-p` names, refused up front when it cannot be a policy: a path that does not exist,
    or a Python class path (`my_module.MyPolicy`, `class=my_module.MyPolicy`: the original's
    spelling, but policies here are built-ins or checkpoints, never code to import).
    `class=NAME` of a built-in is that built-in."""
    from metta.cogames.tournament_commands import PYTHON_CLASS

    text = text.strip()
    if not text:
        raise CommandError(f"-p: empty; give {POLICY_CHOICES}")
    bare = text.removeprefix("class=")
    if "://" in bare or VERSIONED_RUN.fullmatch(bare) or Path(bare.split("?")[0]).exists():
        return bare
    path_like = bare.startswith((".", "/", "~")) or "/" in bare or bare.endswith(CHECKPOINT_SUFFIXES)
    if path_like:
        raise CommandError(f"-p {text}: no such file or directory (give {POLICY_CHOICES})")
    if PYTHON_CLASS.fullmatch(bare.split("?")[0]):
        raise CommandError(f"-p {text}: a Python class path; cogames plays built-in policies and trained "
                           f"checkpoints, not classes (give {POLICY_CHOICES})")
    return bare


def resolve_policy(text: str):
    """A PolicySpec for a bare built-in name (`role`, `miner?gear=2`), a URI, a checkpoint path,
    or a run directory with a version (`./train_dir/my_run:v5`)."""
    from metta.agent.policy_uri import BUILTIN_PREFIX, resolve_policies

    uri = expand_versioned_run(check_policy_text(text))  # a checkpoint path when it was `run_dir:vN`
    if "://" not in uri and not Path(uri.split("?")[0]).exists() and not uri.startswith((".", "/")):
        uri = BUILTIN_PREFIX + uri
    elif "://" not in uri:
        uri = str(Path(uri).resolve())
    try:
        spec = resolve_policies(uri, selector="latest")[0]
        spec.load("cpu")
    except ValueError as error:
        raise CommandError(f"-p {text}: {error}") from None
    return spec


# `./train_dir/my_run:v5`: a run (or checkpoint) directory and the checkpoint version in it.
VERSIONED_RUN = re.compile(r"(?P<path>.+):v(?P<version>\d+)")


def expand_versioned_run(text: str) -> str:
    """`./train_dir/my_run:v5` -> that run's v5 checkpoint file; anything else as it is."""
    versioned = VERSIONED_RUN.fullmatch(text)
    if versioned and Path(versioned["path"]).is_dir():
        return str(versioned_checkpoint(Path(versioned["path"]), int(versioned["version"]), text))
    return text


def versioned_checkpoint(directory: Path, version: int, text: str) -> Path:
    """The `<name>:v<version>.pt` checkpoint in a run directory (or its checkpoints/)."""
    folder = directory / "checkpoints" if (directory / "checkpoints").is_dir() else directory
    found = sorted(folder.glob(f"*:v{version}.pt"))
    if len(found) != 1:
        versions = sorted(int(m["version"]) for p in folder.glob("*.pt") if (m := VERSIONED_RUN.fullmatch(p.stem)))
        raise CommandError(f"-p {text}: no checkpoint v{version} in {folder} "
                           f"(versions there: {', '.join(f'v{v}' for v in versions) or 'none'})")
    return found[0].resolve()


def mission_config(mission: str, steps: int | None):
    from mettagrid.cogsguard.missions import load_mission
    from mettagrid.errors import ConfigError

    try:
        return load_mission(mission, max_steps=steps, desync_episodes=False)
    except ConfigError as error:
        raise CommandError(f"-m {mission}: {error}") from None


# The generic built-ins (mettagrid/scripted_policies.py), one line each.
GENERIC_DESCRIPTIONS = {
    "random": "uniformly random valid actions",
    "simple": "forward 60%, turn 20%, use what is in front 20%",
    "scripted": "walks to the nearest useful building and uses it (arena games)",
    "arena": "mines ore, converts it at generators and delivers to altars for hearts (arena games)",
}


def cmd_policies(args) -> None:
    from mettagrid.cogsguard.policies import COGSGUARD_POLICIES, DESCRIPTIONS
    from mettagrid.scripted_policies import SCRIPTED_POLICIES

    print("CoGsGuard policies (metta://policy/<name>[?key=value...]):")
    for name, (_, params) in COGSGUARD_POLICIES.items():
        shown = f" [{', '.join(params)}]" if params else ""
        print(f"  {name:<18}{shown:<42} {DESCRIPTIONS.get(name, '')}".rstrip())
    print("Any MettaGrid game:")
    for name in SCRIPTED_POLICIES:
        print(f"  {name:<18}{'':<42} {GENERIC_DESCRIPTIONS.get(name, '')}".rstrip())
    print("Trained policies: a checkpoint file, a run directory, file://, s3:// or wandb:// URI")


def cmd_play(args) -> None:
    spec = resolve_policy(args.policy)
    config = mission_config(args.mission, args.steps)
    if args.render == "gui":
        _play_gui(spec, config, args)
    else:
        _play_text(spec, config, args)


def _play_gui(spec, config, args) -> None:
    from metta.sim.replay import record_episode, replay_destination, write_replay

    metadata = {"mission": args.mission, "policy_uri": spec.uri, "seed": args.seed}
    replay = record_episode(config, lambda env: spec.make_actor(env, "cpu", args.seed), seed=args.seed,
                            metadata=metadata)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = write_replay(replay, replay_destination("train_dir/replays", f"cogames_{args.mission}_{stamp}"))
    print(f"replay: {replay['max_steps']} steps written to {path}", file=sys.stderr)
    if args.no_serve:
        print(path)
        return
    if not args.no_browser and not has_display():
        # Nothing could show a browser: serving would wait forever for a viewer nobody opens.
        print(f"play: no display, so no viewer: the replay is {path}; open it with "
              f"./tools/replay.py replay_job.replay_uri={path} (or -r unicode / -r log here)")
        return
    from metta.viewer.server import ViewerServer, open_in_browser

    server = ViewerServer(port=args.port)
    server.start()
    try:
        url = server.publish(path)
        print(url, flush=True)
        print(f"play: open {url} (Ctrl-C to stop)", file=sys.stderr)
        if not args.no_browser:
            open_in_browser(url)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    finally:
        server.stop()


def has_display() -> bool:
    """A desktop a browser can open on (macOS and Windows always; elsewhere DISPLAY or WAYLAND_DISPLAY)."""
    import os

    return sys.platform == "darwin" or sys.platform.startswith("win") or \
        bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _play_text(spec, config, args) -> None:
    from metta.cogames.scrimmage import episode_metrics
    from mettagrid.renderer.terminal import render_grid
    from mettagrid.vec_env import MettaGridVecEnv

    env = MettaGridVecEnv(config, num_envs=1, seed=args.seed, auto_reset=False)
    actor = spec.make_actor(env, "cpu", args.seed)
    groups = {group.id: name for name, group in config.game.groups.items()}
    observations = env.reset()
    height, width = env.map_size()
    start, result = time.perf_counter(), None
    try:
        while result is None:
            observations, _, terminals, truncations = env.step(actor.act(observations))
            actor.observe_dones(terminals, truncations)
            step = env.current_step(0)
            finished = env.episode_results()
            result = finished[0] if finished else None
            if args.render == "unicode":
                frame = render_grid(env.grid_objects(0), height, width, "miniscope")
                sps = step / max(time.perf_counter() - start, 1e-9)
                print(f"\x1b[H\x1b[2J{frame}\nstep {step} | reward {float(env.episode_rewards(0).sum()):.2f} | "
                      f"{sps:.0f} steps/s", flush=True)
                if args.sleep:
                    time.sleep(args.sleep)
            elif step % 100 == 0 or result is not None:
                print(f"step {step}: total reward {float(env.episode_rewards(0).sum()):.2f}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        env.close()
    if result is not None:
        metrics = episode_metrics(result, groups)
        shown = {k: v for k, v in metrics.items() if k in ("heart.gained", "aligned.junction.held", "reward", "win")}
        print("episode: " + ", ".join(f"{k} {v:.3g}" for k, v in shown.items()))


def cmd_scrimmage(args) -> None:
    from metta.cogames.scrimmage import DEFAULT_OPPONENT, scrimmage

    if args.episodes < 1:
        raise CommandError(f"-e {args.episodes}: at least one episode")
    spec = resolve_policy(args.policy)
    opponent = resolve_policy(args.opponent).uri if args.opponent else DEFAULT_OPPONENT
    mission_config(args.mission, args.steps)  # a bad mission is one line before any work
    result = scrimmage(args.mission, spec.uri, episodes=args.episodes, steps=args.steps, seed=args.seed,
                       opponent_uri=opponent)
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return
    print(f"{args.mission}: {spec.name} (cogs) vs {result['opponent']} (clips), {args.episodes} episode(s)")
    for key, value in sorted(result["mean"].items()):
        print(f"  {key:<36} {value:10.3f}")


def parse_policy_arg(text: str) -> tuple[str, float]:
    """`POLICY[,proportion=N]` (or `class=NAME,proportion=N`)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    policy, proportion = None, 1.0
    for part in parts:
        key, sep, value = part.partition("=")
        if sep and key == "proportion":
            try:
                proportion = float(value)
            except ValueError:
                raise CommandError(f"-p {text}: proportion must be a number (got {value!r})") from None
        elif sep and key in ("class", "policy", "uri"):
            policy = value
        elif not sep and policy is None:
            policy = part
        else:
            raise CommandError(f"-p {text}: expected POLICY[,proportion=N]")
    if policy is None or proportion <= 0:
        raise CommandError(f"-p {text}: needs a policy and a positive proportion")
    return policy, proportion


def agent_shares(num_agents: int, proportions: list[float]) -> list[int]:
    """How many agents each policy plays: proportional, every policy at least one, summing to all."""
    if len(proportions) > num_agents:
        raise CommandError(f"{len(proportions)} policies but only {num_agents} agents")
    raw = np.array(proportions) / sum(proportions) * num_agents
    counts = np.maximum(1, np.floor(raw).astype(int))
    while counts.sum() < num_agents:
        counts[int(np.argmax(raw - counts))] += 1
    while counts.sum() > num_agents:
        counts[int(np.argmax(np.where(counts > 1, counts - raw, -np.inf)))] -= 1
    return counts.tolist()


def cmd_run(args) -> None:
    from mettagrid.cogsguard.missions import list_missions

    missions = list(args.mission)
    if args.mission_set:
        chosen = MISSION_SETS[args.mission_set]
        missions += list_missions() if chosen is None else chosen
    missions = missions or [DEFAULT_MISSION]
    if args.episodes < 1:
        raise CommandError(f"-e {args.episodes}: at least one episode")
    entries = [parse_policy_arg(text) for text in args.policy]
    specs = [resolve_policy(policy) for policy, _ in entries]
    report = {"missions": {}}
    for mission in missions:
        report["missions"][mission] = run_mission(mission, specs, [p for _, p in entries], args)
    if args.format == "json":
        print(json.dumps(report, indent=2))
        return
    for mission, result in report["missions"].items():
        print(f"{mission} ({args.episodes} episode(s)):")
        for row in result["policies"]:
            print(f"  {row['policy']:<28} agents {row['agents']:>3}  reward/agent {row['reward_per_agent']:8.3f}  "
                  f"hearts/agent {row['heart_gained_per_agent']:7.3f}")


def run_mission(mission: str, specs, proportions: list[float], args) -> dict[str, Any]:
    """Episodes, played side by side, where policy i plays `agent_shares` of the agents (which
    agents: drawn per episode)."""
    from metta.sim.suite_runner import make_sim_env, play_episodes
    from metta.tournament.matches import TeamActor

    env = make_sim_env(mission_config(mission, args.steps), args.episodes, args.seed)
    try:
        counts = agent_shares(env.num_agents, proportions)
        rng = np.random.default_rng(args.seed)
        teams = np.concatenate([rng.permutation(np.repeat(np.arange(len(specs)), counts))
                                for _ in range(args.episodes)])
        actors = [spec.make_actor(env, "cpu", args.seed + 7 * i) for i, spec in enumerate(specs)]
        results, _ = play_episodes(env, TeamActor(actors, teams), args.episodes, max_time_s=math.inf)
    finally:
        env.close()
    totals = np.zeros(len(specs))
    hearts = np.zeros(len(specs))
    for result in results:
        played = teams.reshape(args.episodes, -1)[result["env_index"]]
        rewards = np.asarray(result["episode_rewards"])
        gained = np.array([s.get("heart.gained", 0.0) for s in result["agent_stats"]])
        for i in range(len(specs)):
            totals[i] += rewards[played == i].sum()
            hearts[i] += gained[played == i].sum()
    rows = []
    for i, spec in enumerate(specs):
        agent_episodes = counts[i] * args.episodes
        rows.append({"policy": spec.name, "agents": counts[i], "reward_per_agent": totals[i] / agent_episodes,
                     "heart_gained_per_agent": hearts[i] / agent_episodes})
    return {"policies": rows}


def cmd_train(args) -> None:
    from mettagrid.cogsguard.missions import MISSIONS

    if args.mission not in MISSIONS:
        raise CommandError(f"-m {args.mission}: unknown mission (known: {', '.join(MISSIONS)})")
    run = args.run_name or f"cogames_{args.mission.replace('.', '_')}_{time.strftime('%Y%m%d-%H%M%S')}"
    agent = {"lstm": "fast", "attention": "latent_attn_small"}[args.arch]
    device = args.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    gpu = device.startswith("cuda")
    # tools/train.py runs from the repository root: the run directory is the one typed, from here.
    command = [str(ROOT / "tools" / "train.py"), f"run={run}", f"train_dir={Path(args.train_dir).resolve()}",
               f"env={MISSIONS[args.mission]}", f"agent={agent}", f"hardware={'gpu' if gpu else 'cpu'}",
               f"trainer.total_timesteps={args.steps}", f"system.device={device}"]
    if args.batch_size:
        # A small batch needs a minibatch that fits in it (the trainer refuses one bigger).
        # Half the batch, in whole 64-step blocks: it also fits once the rollout is rounded down to
        # whole segments of every agent. Capped at the hardware preset's minibatch.
        minibatch = min(16384 if gpu else 2048, max(64, args.batch_size // 2 // 64 * 64))
        command += [f"trainer.batch_size={args.batch_size}", f"trainer.minibatch_size={minibatch}"]
    if args.teacher:
        teacher = resolve_policy(args.teacher).uri
        command += ["teacher.mode=sliced_cloner", f"teacher.policy_uri='{teacher}'",
                    f"teacher.teacher_led_proportion={args.teacher_led}",
                    f"teacher.student_led_proportion={args.student_led}"]
    command += args.overrides
    print("train: " + " ".join(command[1:]), file=sys.stderr, flush=True)
    code = subprocess.run(command, cwd=ROOT, check=False).returncode
    if code == 2:
        raise SystemExit(2)  # tools/train.py has said what was wrong, in one line
    if code != 0:
        raise CommandError(f"train: tools/train.py exited with {code}")
    print(f"checkpoints: {Path(args.train_dir) / run / 'checkpoints'}")
