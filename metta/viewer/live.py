"""A human in the loop: one agent played from the browser, the others by a policy.

The env advances one step per human action (turn-based, so nobody needs quick reflexes),
recording the episode as a replay. Messages (docs/replays.md, "Live protocol"):

- to the page on connect: `{"type": "replay", "replay": <document so far>, "controlled_agent": id}`
- to the page after each step: `{"type": "step", "step": t, "max_steps": t, "changes": [[object, field, value], ...]}`
- from the page: `{"type": "action", "action": "<name>", "arg": n}`
- to the page at the end: `{"type": "done", "replay_path": ..., "message": ...}`; on bad
  input: `{"type": "error", "message": ...}`
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mettagrid.config import EnvConfig
from mettagrid.replay import ReplayRecorder
from mettagrid.vec_env import MettaGridVecEnv


class PlaySession:
    def __init__(self, env_config: EnvConfig, make_actor: Callable[[MettaGridVecEnv], Any], *,
                 controlled_agent: int = 0, seed: int = 0, save: Callable[[dict[str, Any]], str] | None = None,
                 metadata: dict[str, Any] | None = None):
        config = env_config.model_copy(update={"desync_episodes": False})
        self.env = MettaGridVecEnv(config, num_envs=1, seed=seed, auto_reset=False)
        if not 0 <= controlled_agent < self.env.num_agents:
            raise ValueError(f"controlled_agent {controlled_agent} is not an agent of this env "
                             f"(it has {self.env.num_agents}: 0..{self.env.num_agents - 1})")
        self.controlled_agent = controlled_agent
        self.actor = make_actor(self.env)
        self._observe_dones = getattr(self.actor, "observe_dones", None)
        self.recorder = ReplayRecorder(self.env, metadata={**(metadata or {}), "controlled_agent": controlled_agent})
        self._save = save
        self.saved_path: str | None = None
        self.action_ids = {name: i for i, name in enumerate(self.env.action_names)}
        self.max_args = self.env.action_max_args
        self.observations = self.env.reset()
        self.recorder.after_step()
        self.human_actions = 0

    # -- the server's interface -----------------------------------------------------------------

    def initial_message(self) -> dict[str, Any]:
        return {"type": "replay", "replay": self.recorder.replay(0), "controlled_agent": self.controlled_agent,
                "over": self.over}

    def handle(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        kind = message.get("type")
        if kind != "action":
            return [{"type": "error", "message": f"unknown message type {_short(kind)} (expected 'action')"}]
        if self.over:
            return [self._done_message()]
        name, arg = message.get("action"), message.get("arg", 0)
        if not isinstance(name, str) or name not in self.action_ids:
            return [{"type": "error",
                     "message": f"unknown action {_short(name)} (this env has: {', '.join(self.action_ids)})"}]
        action = self.action_ids[name]
        # bool is an int in Python, but `true` is no action argument
        if not isinstance(arg, int) or isinstance(arg, bool) or not 0 <= arg <= self.max_args[action]:
            return [{"type": "error", "message": f"{name}: arg {_short(arg)} is not a whole number in "
                                                 f"0..{self.max_args[action]}"}]
        return self.step(action, arg)

    def state(self) -> dict[str, Any]:
        positions = self.env.agent_positions(0)
        objects = self.env.grid_objects(0)[: self.env.num_agents]
        return {
            "step": self.env.current_step(0),
            "over": self.over,
            "controlled_agent": self.controlled_agent,
            "human_actions": self.human_actions,
            "replay_path": self.saved_path,
            "agents": [{"agent_id": a, "row": int(positions[a][0]), "col": int(positions[a][1]),
                        "orientation": objects[a]["orientation"]} for a in range(self.env.num_agents)],
        }

    # -- stepping -------------------------------------------------------------------------------

    @property
    def over(self) -> bool:
        return not self.recorder.recording(0)

    def step(self, action: int, arg: int) -> list[dict[str, Any]]:
        actions = np.asarray(self.actor.act(self.observations)).copy()
        actions[self.controlled_agent] = (action, arg)
        self.observations, _, terminals, truncations = self.env.step(actions)
        if self._observe_dones:
            self._observe_dones(terminals, truncations)
        self.human_actions += 1
        self.recorder.after_step()
        step, changes = self.recorder.last_step_changes(0)
        messages = [{"type": "step", "step": step, "max_steps": step, "changes": changes}]
        if self.over:
            self.finish()
            messages.append(self._done_message())
        return messages

    def finish(self) -> str | None:
        """Save the episode so far (once); returns where it went."""
        if self.saved_path is None and self._save is not None:
            self.saved_path = self._save(self.recorder.replay(0))
        return self.saved_path

    def _done_message(self) -> dict[str, Any]:
        where = f"; replay saved to {self.saved_path}" if self.saved_path else ""
        return {"type": "done", "replay_path": self.saved_path,
                "message": f"episode over after {self.env.current_step(0)} steps{where}"}

    def close(self) -> None:
        self.env.close()


def _short(value: Any) -> str:
    """A value from a message, as an error may quote it."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def default_save_path(replay_dir: str | Path, name: str) -> str:
    from metta.sim.replay import replay_destination

    return replay_destination(replay_dir, name)
