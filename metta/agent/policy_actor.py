"""A trained policy playing every agent of a MettaGridVecEnv: the one place that carries the
LSTM state across steps, maps the env's tables to the policy's (EnvAdapter) and samples."""

from __future__ import annotations

import numpy as np
import torch

from metta.agent.compat import EnvAdapter
from metta.agent.env_info import PolicyEnvInfo
from mettagrid.vec_env import MettaGridVecEnv


class PolicyActor:
    def __init__(self, policy, env: MettaGridVecEnv, device: torch.device | str = "cpu", greedy: bool = False):
        self.policy = policy.to(device).eval()
        self.device = torch.device(device)
        self.adapter = EnvAdapter(policy.env_info, PolicyEnvInfo.from_vec_env(env))
        self.greedy = greedy
        self.state = policy.initial_state(env.total_agents, self.device)
        self.done = torch.zeros(env.total_agents, dtype=torch.bool, device=self.device)

    def act(self, observations: np.ndarray) -> np.ndarray:
        """Env (action, arg) pairs for every agent, given the current observation buffer."""
        obs = torch.as_tensor(self.adapter.observations(observations), device=self.device)
        with torch.no_grad():
            logits, _, self.state = self.policy(obs, self.state, self.done)
            logits = self.adapter.mask_logits(logits)
            if self.greedy:
                pair = logits.argmax(dim=-1)
            else:
                pair = torch.distributions.Categorical(logits=logits).sample()
        return self.adapter.env_actions(pair.cpu().numpy())

    def observe_dones(self, terminals: np.ndarray, truncations: np.ndarray) -> None:
        """Tell the actor which episodes ended, so their memory is cleared before the next step."""
        self.done = torch.as_tensor(terminals | truncations, device=self.device)
