"""Recorded demonstrations: what imitation learns from when no supervisor plays alongside.

A demonstration file (`.npz`) holds R agent rows over T steps of one env:
  obs             (T, R, N, 3) uint8   the observation each row acted on
  actions         (T, R, 2)    int32   the env action (action id, arg) it took
  resets          (T, R)       bool    the row's episode began at this step
  action_names, action_max_args, feature_names   the env's tables (the student's pairs are
                                                 matched by action name, as for a teacher)

`record_demonstrations` writes one by letting any policy URI play (a scripted player, a
checkpoint): `python -m metta.rl.demonstrations --env mettagrid/navigation --policy
metta://policy/scripted --steps 2000 --out demos.npz`. Training reads it with
`trainer.losses.action_supervised.demonstrations_uri=demos.npz`: each minibatch then also
replays as many random `bptt_horizon`-step stretches of the file (from a zero memory) and adds
the cross-entropy toward the recorded actions (metta/rl/loss_zoo.py).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mettagrid.errors import ConfigError

KEY = "trainer.losses.action_supervised.demonstrations_uri"
ARRAYS = ("obs", "actions", "resets", "action_names", "action_max_args", "feature_names")


def record_demonstrations(env_name: str, policy_uri: str, steps: int, out: str | Path, num_envs: int = 2,
                          seed: int = 0) -> Path:
    """Play `policy_uri` on `num_envs` envs of `env_name` for `steps` steps and write the file."""
    from metta.agent.policy_uri import resolve_policies
    from mettagrid.atomic_files import atomic_write_bytes
    from mettagrid.env_configs import compose_env_config
    from mettagrid.vec_env import MettaGridVecEnv

    env = MettaGridVecEnv(compose_env_config(env_name), num_envs=num_envs, seed=seed)
    try:
        actor = resolve_policies(policy_uri)[0].make_actor(env, seed=seed)
        observations = env.reset()
        rows = env.total_agents
        obs = np.empty((steps, *observations.shape), dtype=np.uint8)
        actions = np.empty((steps, rows, 2), dtype=np.int32)
        resets = np.zeros((steps, rows), dtype=bool)
        resets[0] = True
        for t in range(steps):
            obs[t] = observations
            actions[t] = actor.act(observations)
            observations, _, terminals, truncations = env.step(actions[t])
            actor.observe_dones(terminals, truncations)
            if t + 1 < steps:
                resets[t + 1] = terminals | truncations
        buffer = io.BytesIO()
        np.savez_compressed(buffer, obs=obs, actions=actions, resets=resets,
                            action_names=np.array(env.action_names),
                            action_max_args=np.array(env.action_max_args, dtype=np.int32),
                            feature_names=np.array(env.feature_names))
    finally:
        env.close()
    out = Path(out)
    atomic_write_bytes(out, buffer.getvalue())
    return out


class Demonstrations:
    """A demonstration file read for one student: observations and target pairs on the
    trainer's device, sampled as (bptt, S) stretches."""

    def __init__(self, uri: str, policy: Any, device: torch.device, seed: int = 0):
        from metta.rl.teacher import PairMap

        path = Path(uri.removeprefix("file://")).expanduser()
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [name for name in ARRAYS if name not in data.files]
                if missing:
                    raise ConfigError(f"{KEY}: {uri}: not a demonstration file (no {', '.join(missing)})")
                arrays = {name: data[name] for name in ARRAYS}
        except (OSError, ValueError) as error:  # missing, unreadable, not an .npz
            raise ConfigError(f"{KEY}: {uri}: {str(error).splitlines()[0] or type(error).__name__}") from None
        features = tuple(str(name) for name in arrays["feature_names"])
        if features != tuple(policy.env_info.feature_names):
            raise ConfigError(f"{KEY}: {uri}: recorded on an env with other observation features than the "
                              "student's; record it on the training env")
        obs, actions = arrays["obs"], arrays["actions"]
        if obs.ndim != 4 or obs.shape[-1] != 3 or actions.shape != (*obs.shape[:2], 2) or len(obs) < 1:
            raise ConfigError(f"{KEY}: {uri}: arrays of unexpected shapes (obs {obs.shape}, actions {actions.shape})")
        pairs = PairMap(policy.action_pairs, [str(n) for n in arrays["action_names"]],
                        [int(a) for a in arrays["action_max_args"]])
        targets = pairs(actions)
        if not (targets >= 0).any():
            raise ConfigError(f"{KEY}: {uri}: none of its actions is one the student can take")
        self.obs = torch.as_tensor(obs, device=device)
        self.targets = torch.as_tensor(targets, device=device)
        self.resets = torch.as_tensor(arrays["resets"], device=device)
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def steps(self) -> int:
        return self.obs.shape[0]

    def sample(self, segments: int, bptt: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`segments` random stretches of min(bptt, T) steps: obs (bptt, S, N, 3), target pairs
        (bptt, S) (-1: no such pair for the student), resets (bptt, S)."""
        length = min(bptt, self.steps)
        rows = torch.randint(self.obs.shape[1], (segments,), generator=self.generator)
        starts = torch.randint(self.steps - length + 1, (segments,), generator=self.generator)
        steps = (starts[None, :] + torch.arange(length)[:, None]).to(self.obs.device)
        rows = rows[None, :].expand(length, -1).to(self.obs.device)
        return self.obs[steps, rows], self.targets[steps, rows], self.resets[steps, rows]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Record a demonstration file for action_supervised imitation.")
    parser.add_argument("--env", required=True, help="env config, e.g. mettagrid/navigation")
    parser.add_argument("--policy", required=True, help="policy URI, e.g. metta://policy/scripted or a checkpoint")
    parser.add_argument("--steps", type=int, default=2000, help="steps to record (every agent of every env)")
    parser.add_argument("--envs", type=int, default=2, help="envs played side by side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="where to write the .npz")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.envs < 1:
        parser.error("--steps and --envs must be at least 1")
    try:
        out = record_demonstrations(args.env, args.policy, args.steps, args.out, args.envs, args.seed)
    except (ConfigError, ValueError) as error:
        raise SystemExit(f"error: {str(error).splitlines()[0]}") from None
    print(f"demonstrations: {args.steps} steps x {args.envs} envs written to {out}")


if __name__ == "__main__":
    main()
