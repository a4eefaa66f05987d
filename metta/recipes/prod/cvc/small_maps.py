"""CoGs vs Clips on small maps: the CoGsGuard 3-against-3 mission (`cogsguard/arena/small`,
25x13, 300 steps), where a policy learns the heart chain and junction holding quickly.

  ./tools/run.py train cvc.small_maps run=cvc1 trainer.total_timesteps=1000000
  ./tools/run.py recipes.prod.cvc.small_maps.evaluate policy_uri=file://./train_dir/cvc1/checkpoints
  ./tools/run.py play cvc.small_maps policy_uri=metta://policy/role render=log

The original's small-maps recipe draws from several small CoGs-vs-Clips maps; this project has
one small CoGsGuard mission, so that is the map trained and evaluated on.
"""

from metta.recipes import CommandCall, RecipeCall

ENV = "cogsguard/arena/small"
MISSION = "cogsguard_arena.small"
SIMS = "cogsguard_small"
# With no policy named, evaluation and replays show the scripted roles: the bar to clear.
DEFAULT_POLICY = "metta://policy/role"


def train() -> RecipeCall:
    return RecipeCall("train_job", [f"env={ENV}", f"sim={SIMS}"])


def evaluate() -> RecipeCall:
    return RecipeCall("sim_job", [f"sim_job.simulation_suite={SIMS}", f"sim_job.policy_uris=[{DEFAULT_POLICY!r}]"])


def replay() -> RecipeCall:
    return RecipeCall("replay_job", [f"replay_job.sim.env={ENV}", f"replay_job.policy_uri={DEFAULT_POLICY}"])


def play() -> CommandCall:
    """`cogames play` on the small mission (render=gui for the browser, unicode, or log)."""
    return CommandCall(["play", "-m", MISSION], {"policy_uri": "-p", "policy": "-p", "render": "-r", "max_steps": "-s",
                                                 "steps": "-s", "seed": "--seed", "port": "--port"})
