"""CoGsGuard (docs/cogsguard.md): cogs against clips on `cogsguard_arena.basic`.

  ./tools/run.py recipes.experiment.cogsguard.train run=cg 'teacher={mode: sliced_cloner, policy_uri: "metta://policy/cogsguard?gear=10"}'
  ./tools/run.py recipes.experiment.cogsguard.evaluate policy_uri=train_dir/cg/checkpoints
  ./tools/run.py recipes.experiment.cogsguard.play policy_uri=metta://policy/role render=log max_steps=1000
"""

from metta.recipes import CommandCall, RecipeCall

ENV = "cogsguard/arena/basic"
MISSION = "cogsguard_arena.basic"
# Evaluating with no policy named shows the scripted roles, the bar a trained policy should clear.
DEFAULT_EVAL_POLICY = "metta://policy/role"


def train() -> RecipeCall:
    return RecipeCall("train_job", [f"env={ENV}", "sim=cogsguard"])


def evaluate() -> RecipeCall:
    return RecipeCall("sim_job", ["sim_job.simulation_suite=cogsguard", f"sim_job.policy_uris=[{DEFAULT_EVAL_POLICY!r}]"])


def replay() -> RecipeCall:
    return RecipeCall("replay_job", [f"replay_job.sim.env={ENV}", f"replay_job.policy_uri={DEFAULT_EVAL_POLICY}"])


def play() -> CommandCall:
    """`cogames play`: the episode in the browser viewer (render=gui), the terminal (unicode) or a log."""
    return CommandCall(["play", "-m", MISSION], {"policy_uri": "-p", "policy": "-p", "render": "-r", "max_steps": "-s",
                                                 "steps": "-s", "mission": "-m", "seed": "--seed", "port": "--port"})
