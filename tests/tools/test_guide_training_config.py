"""The training guide's "Key Training Config" keys (trainer.losses.ppo_actor / ppo_critic /
sliced_scripted_cloner, training_env.supervisor_policy_uri), typed as command-line overrides
and as a YAML file, train a CoGsGuard student at CPU scale and mean what they say."""

import json
from pathlib import Path

import yaml

from tests.tools.test_train_tool import TINY, run_train

# The guide's numbers, except the sizes (5e9 steps, 2M batches do not fit a CPU test).
CPU = [o for o in TINY if not o.startswith("env=")] + ["env=cogsguard/arena/small", "env.game.max_steps=40",
                                                        "trainer.num_envs=4", "trainer.total_timesteps=1024"]
GUIDE_OVERRIDES = [
    "trainer.losses.ppo_actor.enabled=true", "trainer.losses.ppo_actor.ent_coef=0.01",
    "trainer.losses.ppo_actor.norm_adv=true", "trainer.losses.ppo_actor.clip_coef=0.22",
    "trainer.losses.ppo_critic.enabled=true", "trainer.losses.ppo_critic.vf_coef=0.50",
    "trainer.losses.ppo_critic.critic_update=gtd_lambda",
    "trainer.losses.sliced_scripted_cloner.enabled=true", "trainer.losses.sliced_scripted_cloner.action_loss_coef=1",
    "trainer.losses.sliced_scripted_cloner.student_led_proportion=0.5",
    "trainer.losses.sliced_scripted_cloner.teacher_led_proportion=0.5",
    "training_env.supervisor_policy_uri='metta://policy/cogsguard?gear=10'",
]
GUIDE_YAML = """\
# @package _global_
trainer:
  total_timesteps: 1024
  batch_size: 512
  losses:
    ppo_actor:
      enabled: true
      ent_coef: 0.01
      norm_adv: true
      clip_coef: 0.22
    ppo_critic:
      enabled: true
      vf_coef: 0.50
      critic_update: gtd_lambda
    sliced_scripted_cloner:
      enabled: true
      action_loss_coef: 1
      student_led_proportion: 0.5
      teacher_led_proportion: 0.5

training_env:
  supervisor_policy_uri: 'metta://policy/cogsguard?gear=10'
"""


def check_cloned_run(run_dir: Path) -> None:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(row["teacher/led_proportion"] == 0.5 and row["losses/bc_loss"] > 0 for row in rows)
    assert all("losses/policy_loss" in row and "losses/value_loss" in row for row in rows)
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    losses = saved["trainer"]["losses"]
    assert losses["ppo_actor"]["clip_coef"] == 0.22 and losses["ppo_actor"]["ent_coef"] == 0.01
    assert losses["ppo_critic"]["vf_coef"] == 0.5 and losses["ppo_critic"]["critic_update"] == "gtd_lambda"
    assert saved["training_env"]["supervisor_policy_uri"] == "metta://policy/cogsguard?gear=10"


def test_the_guide_keys_as_overrides_train_with_the_supervisor(tmp_path):
    result = run_train("run=keys", f"train_dir={tmp_path}", *CPU, *GUIDE_OVERRIDES)
    assert result.returncode == 0, result.stderr
    check_cloned_run(tmp_path / "keys")


def test_the_guide_yaml_block_as_a_config_file(tmp_path):
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "machina1_cloner.yaml").write_text(GUIDE_YAML)
    result = run_train("--config-dir", str(tmp_path), "+experiment=machina1_cloner", "run=yaml",
                       f"train_dir={tmp_path}", *CPU)
    assert result.returncode == 0, result.stderr
    check_cloned_run(tmp_path / "yaml")


def test_without_ppo_actor_the_policy_only_clones(tmp_path):
    result = run_train("run=bc", f"train_dir={tmp_path}", *CPU, *GUIDE_OVERRIDES,
                       "trainer.losses.ppo_actor.enabled=false")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "bc" / "metrics.jsonl").read_text().splitlines()]
    assert all("losses/policy_loss" not in row and row["losses/bc_loss"] > 0 for row in rows)
