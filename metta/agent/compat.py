"""Running a policy on an env whose tables differ from the ones it was trained on.

Ids are positions in name tables, so the same feature or action can carry a different id in
another env (other items, a disabled action). `EnvAdapter` matches the two tables by NAME:

* observations: the feature column is looked up in a 256-entry table (env id -> policy id;
  0xFF stays 0xFF), and the `last_action` token's value, an env action id, is renumbered the
  same way;
* actions: the policy's pairs the env lacks are masked to -inf before sampling, and a sampled
  policy pair index is turned into the env's `(action_id, arg)`.

What the policy could not read or express is refused with one line (`PolicyEnvMismatch`):
an env feature or action the policy has never seen, an action whose args go beyond the
policy's range, a different observation window. The reverse (the policy knowing more than
the env offers) is fine. When nothing needs renaming, the adapter is the identity and costs
nothing (`remaps_observations` and `masks_actions` are False).
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

from metta.agent.action_pairs import ActionPairs
from metta.agent.env_info import PolicyEnvInfo

Array = TypeVar("Array", np.ndarray, torch.Tensor)

PAD = 0xFF
LAST_ACTION_FEATURE = "last_action"


class PolicyEnvMismatch(ValueError):
    """The env shows the policy something it cannot read, or asks for actions it cannot take."""


def compatibility_problems(policy: PolicyEnvInfo, env: PolicyEnvInfo) -> list[str]:
    """Everything that stops `policy` from playing `env`, one phrase each (empty: compatible)."""
    problems = []
    if (env.obs_height, env.obs_width) != (policy.obs_height, policy.obs_width):
        problems.append(
            f"observation window differs: env {env.obs_height}x{env.obs_width}, "
            f"policy {policy.obs_height}x{policy.obs_width} (height x width)"
        )
    unknown_features = [name for name in env.feature_names if name not in policy.feature_names]
    if unknown_features:
        problems.append(f"env features unknown to the policy: {', '.join(unknown_features)}")
    unknown_actions = [name for name in env.action_names if name not in policy.action_names]
    if unknown_actions:
        problems.append(f"env actions unknown to the policy: {', '.join(unknown_actions)}")
    policy_max_arg = dict(zip(policy.action_names, policy.action_max_args))
    too_wide = [
        f"{name} 0..{max_arg} (policy 0..{policy_max_arg[name]})"
        for name, max_arg in zip(env.action_names, env.action_max_args)
        if name in policy_max_arg and max_arg > policy_max_arg[name]
    ]
    if too_wide:
        problems.append(f"env action args beyond the policy's range: {', '.join(too_wide)}")
    return problems


class EnvAdapter:
    """Translates one env's observations and actions to and from one policy's tables."""

    def __init__(self, policy_info: PolicyEnvInfo, env_info: PolicyEnvInfo):
        problems = compatibility_problems(policy_info, env_info)
        if problems:
            raise PolicyEnvMismatch("policy cannot play this env: " + "; ".join(problems))
        self.policy_info = policy_info
        self.env_info = env_info
        self.policy_pairs = ActionPairs.from_env_info(policy_info)
        self.env_pairs = ActionPairs.from_env_info(env_info)

        # Observations. Ids the env never defines map to PAD, so a stray token is ignored.
        policy_feature = {name: index for index, name in enumerate(policy_info.feature_names)}
        self.feature_map = np.full(256, PAD, dtype=np.uint8)
        for env_id, name in enumerate(env_info.feature_names):
            self.feature_map[env_id] = policy_feature[name]
        policy_action = {name: index for index, name in enumerate(policy_info.action_names)}
        # Values of the last_action token are env action ids; ids outside the env's list were
        # invalid sends and keep their value (the policy never produces them).
        self.action_id_map = np.arange(256, dtype=np.uint8)
        for env_id, name in enumerate(env_info.action_names):
            self.action_id_map[env_id] = policy_action[name]
        self.last_action_feature = policy_feature.get(LAST_ACTION_FEATURE, PAD)

        env_ids = np.arange(env_info.num_features)
        renames_features = not np.array_equal(self.feature_map[env_ids], env_ids)
        renumbers_actions = not np.array_equal(
            self.action_id_map[: env_info.num_actions], np.arange(env_info.num_actions)
        )
        emits_last_action = LAST_ACTION_FEATURE in env_info.feature_names
        self.remaps_observations = renames_features or (renumbers_actions and emits_last_action)

        # Actions: env pair -> policy pair by (name, arg); the rest of the policy's pairs are masked.
        self.env_to_policy_pair = np.array(
            [
                self.policy_pairs.index(env_info.action_names[a], arg)
                for a, arg in self.env_pairs.table.tolist()
            ],
            dtype=np.int64,
        )
        self.supported_pairs = np.zeros(self.policy_pairs.num_pairs, dtype=bool)
        self.supported_pairs[self.env_to_policy_pair] = True
        # (action_id, arg) in the env for each policy pair; (-1, -1) where the env lacks it.
        self.policy_pair_to_env_action = np.full((self.policy_pairs.num_pairs, 2), -1, dtype=np.int32)
        self.policy_pair_to_env_action[self.env_to_policy_pair] = self.env_pairs.table
        self.masks_actions = not bool(self.supported_pairs.all())
        self.renames_actions = self.masks_actions or not np.array_equal(
            self.env_to_policy_pair, np.arange(self.policy_pairs.num_pairs)
        )
        self._torch_tables: dict[torch.device, dict[str, torch.Tensor]] = {}

    @property
    def is_identity(self) -> bool:
        """True when observations and actions pass through unchanged."""
        return not (self.remaps_observations or self.renames_actions)

    def _torch(self, device: torch.device) -> dict[str, torch.Tensor]:
        if device not in self._torch_tables:
            self._torch_tables[device] = {
                "feature_map": torch.as_tensor(self.feature_map, device=device),
                "action_id_map": torch.as_tensor(self.action_id_map, device=device),
                "supported_pairs": torch.as_tensor(self.supported_pairs, device=device),
                "pair_to_env_action": torch.as_tensor(self.policy_pair_to_env_action, device=device),
            }
        return self._torch_tables[device]

    def action_mask(self, device: torch.device | str = "cpu") -> torch.Tensor | None:
        """Bool `(policy num_pairs,)`: pairs the env supports; None when it supports them all."""
        return self._torch(torch.device(device))["supported_pairs"] if self.masks_actions else None

    def observations(self, obs: Array) -> Array:
        """Env tokens `(..., tokens, 3)` uint8 -> the same tokens in the policy's ids (a copy,
        or `obs` itself when nothing needs renaming)."""
        if not self.remaps_observations:
            return obs
        if isinstance(obs, torch.Tensor):
            tables = self._torch(obs.device)
            features = tables["feature_map"][obs[..., 1].long()]
            values = obs[..., 2]
            if self.last_action_feature != PAD:
                renumbered = tables["action_id_map"][values.long()]
                values = torch.where(features == self.last_action_feature, renumbered, values)
            return torch.stack([obs[..., 0], features, values], dim=-1)
        out = np.array(obs, dtype=np.uint8, copy=True)
        out[..., 1] = self.feature_map[obs[..., 1]]
        if self.last_action_feature != PAD:
            is_last_action = out[..., 1] == self.last_action_feature
            out[..., 2] = np.where(is_last_action, self.action_id_map[obs[..., 2]], obs[..., 2])
        return out

    def mask_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """Set the logits of pairs the env lacks to -inf (unchanged when it has them all)."""
        if not self.masks_actions:
            return logits
        supported = self._torch(logits.device)["supported_pairs"]
        return logits.masked_fill(~supported, float("-inf"))

    def env_actions(self, pair_index: Array) -> Array:
        """Policy pair indices (any shape) -> the env's `(..., 2)` int32 `(action_id, arg)`.
        A pair the env lacks gives (-1, -1); masking the logits keeps those from being sampled."""
        if isinstance(pair_index, torch.Tensor):
            return self._torch(pair_index.device)["pair_to_env_action"][pair_index.long()]
        return self.policy_pair_to_env_action[np.asarray(pair_index, dtype=np.int64)]

    def policy_pair_index(self, env_actions: Array) -> Array:
        """The env's `(..., 2)` `(action_id, arg)` -> policy pair indices (e.g. for scripted
        or recorded actions)."""
        env_pairs = self.env_pairs.to_pair_index(env_actions)
        if isinstance(env_pairs, torch.Tensor):
            return torch.as_tensor(self.env_to_policy_pair, device=env_pairs.device)[env_pairs]
        return self.env_to_policy_pair[env_pairs]
