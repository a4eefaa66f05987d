"""The CI suite: every prod recipe's tools on tiny budgets, each within a few minutes on a CPU.
Passing means nothing crashed and each tool produced what it should (a checkpoint, an eval
report, a replay, an episode log); nothing here judges learning.

  metta ci --stage recipe-tests          # or: metta suite ci
"""

from metta.recipes.validation import AcceptanceCriterion, JobConfig

# Small enough for a 2-core CI box: 10k agent steps in a handful of epochs.
TINY_TRAINER = ["trainer.total_timesteps=10000", "trainer.batch_size=2304", "trainer.minibatch_size=576",
                "trainer.bptt_horizon=8", "trainer.checkpoint_interval=2",
                "wandb=off"]

ARENA = "recipes.prod.arena_basic_easy_shaped"
CVC = "recipes.prod.cvc.small_maps"

JOBS = [
    JobConfig(
        name="ci.arena_train",
        module=f"{ARENA}.train",
        args=["run=ci.arena_train", *TINY_TRAINER],
        timeout_s=300,
        is_training_job=True,
        metrics_to_track=["overview/sps", "metric/agent_step"],
        acceptance_criteria=[AcceptanceCriterion(metric="metric/agent_step", operator=">=", threshold=10000)],
    ),
    JobConfig(
        name="ci.arena_evaluate",
        module=f"{ARENA}.evaluate",
        args=["policy_uri=file://{train_dir}/ci.arena_train/checkpoints", "sim_job.num_episodes=1",
              "train_dir={train_dir}"],
        timeout_s=300,
        metrics_to_track=["reward_avg"],
    ),
    JobConfig(
        name="ci.arena_replay",
        module=f"{ARENA}.replay",
        args=["policy_uri=file://{train_dir}/ci.arena_train/checkpoints", "replay_dir={out}/replays",
              "replay_job.serve=false", 'replay_job.sim.env_overrides=["game.max_steps=100"]'],
        timeout_s=120,
    ),
    JobConfig(
        name="ci.cvc_small_train",
        module=f"{CVC}.train",
        args=["run=ci.cvc_small_train", *TINY_TRAINER],
        timeout_s=300,
        is_training_job=True,
        metrics_to_track=["overview/sps", "metric/agent_step"],
        acceptance_criteria=[AcceptanceCriterion(metric="metric/agent_step", operator=">=", threshold=10000)],
    ),
    JobConfig(
        name="ci.cvc_small_play",
        module=f"{CVC}.play",
        args=["policy_uri=metta://policy/role", "render=log", "max_steps=100"],
        timeout_s=120,
    ),
]
