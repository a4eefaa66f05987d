"""Arena, easy and shaped: 24 agents in four rooms; one battery makes a heart at the altar, and
ore, batteries (and lasers, armor, blueprints where a map has them) pay a little on the way.

  ./tools/run.py train arena_basic_easy_shaped run=prod_run_1 trainer.total_timesteps=100000000
  ./tools/run.py recipes.prod.arena_basic_easy_shaped.train run=ci_test trainer.total_timesteps=10000
  ./tools/run.py evaluate arena_basic_easy_shaped policy_uri=file://./train_dir/prod_run_1/checkpoints

Trained on `mettagrid/arena/easy_shaped`; evaluated on it and on the basic and combat arenas
(`configs/sim/arena_easy_shaped.yaml`).
"""

from metta.recipes import RecipeCall

ENV = "mettagrid/arena/easy_shaped"
SIMS = "arena_easy_shaped"


def train() -> RecipeCall:
    return RecipeCall("train_job", [f"env={ENV}", f"sim={SIMS}"])


def evaluate() -> RecipeCall:
    return RecipeCall("sim_job", [f"sim_job.simulation_suite={SIMS}"])


def analyze() -> RecipeCall:
    return RecipeCall("analyze_job", [])


def replay() -> RecipeCall:
    return RecipeCall("replay_job", [f"replay_job.sim.env={ENV}"])


def play() -> RecipeCall:
    return RecipeCall("play_job", [f"replay_job.sim.env={ENV}"])
