"""tools/train.py with a teacher, as a user runs it: the sliced cloner logs its metrics and the
student comes to agree with the scripted teacher; pure BC and annealing run; bad teacher
settings are refused in one line."""

import json
from pathlib import Path

import pytest

from tests.tools.test_train_tool import TINY, run_train

SLICED = ('teacher={mode: sliced_cloner, policy_uri: "metta://policy/scripted", '
          'teacher_led_proportion: 0.5, student_led_proportion: 0.5}')


def metric_rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_sliced_cloner_logs_bc_and_the_student_comes_to_agree(tmp_path):
    result = run_train("run=bc", f"train_dir={tmp_path}", "seed=0", "trainer.total_timesteps=5120", *TINY, SLICED)
    assert result.returncode == 0, result.stderr
    rows = metric_rows(tmp_path / "bc")
    assert len(rows) == 10
    for row in rows:
        assert row["losses/bc_loss"] > 0 and 0 <= row["teacher/agreement"] <= 1
        assert row["teacher/led_proportion"] == 0.5
    agreement = [row["teacher/agreement"] for row in rows]
    bc_loss = [row["losses/bc_loss"] for row in rows]
    # A near-uniform student agrees by chance; after a few epochs it follows the teacher
    # (which moves forward about 2/3 of the time on these maps) much more often.
    assert sum(agreement[-3:]) / 3 > agreement[0] + 0.15, agreement
    assert sum(bc_loss[-3:]) / 3 < bc_loss[0] - 0.1, bc_loss


def test_pure_bc_with_annealing_hands_the_rows_back(tmp_path):
    """All rows teacher-led at first (no PPO step at all), handed to the student over 1536 steps."""
    teacher = ('teacher={mode: sliced_cloner, policy_uri: "metta://policy/scripted", '
               "teacher_led_proportion: 1.0, teacher_led_anneal_steps: 1536}")
    result = run_train("run=anneal", f"train_dir={tmp_path}", "trainer.total_timesteps=2048", *TINY, teacher)
    assert result.returncode == 0, result.stderr
    rows = metric_rows(tmp_path / "anneal")
    # 32 rows: round(32 x share) teacher-led at agent steps 0, 512, 1024, 1536.
    assert [row["teacher/led_proportion"] for row in rows] == [1.0, 21 / 32, 11 / 32, 0.0]
    assert rows[0]["losses/policy_loss"] == 0.0 and rows[0]["losses/bc_loss"] > 0
    assert rows[-1]["losses/policy_loss"] != 0.0


@pytest.mark.parametrize("overrides, key", [
    (["teacher={mode: bogus}"], "teacher.mode"),
    (["teacher.mode=sliced_cloner"], "teacher.policy_uri"),
    ([SLICED.replace("teacher_led_proportion: 0.5", "teacher_led_proportion: 0.8")],
     "teacher.student_led_proportion"),
    (["+teacher.temperature=2"], "teacher.temperature"),
    (['teacher={mode: sliced_cloner, policy_uri: "metta://policy/nobody"}'], "teacher.policy_uri"),
    ([SLICED, "trainer.vectorization=multiprocessing"], "trainer.vectorization=threads"),
    # The loss table's spelling of the same teacher: needs its supervisor, refuses a second spelling.
    (["trainer.losses.sliced_scripted_cloner.enabled=true"], "training_env.supervisor_policy_uri: required"),
    ([SLICED, "trainer.losses.sliced_scripted_cloner.enabled=true",
      "training_env.supervisor_policy_uri=metta://policy/scripted"], "use one of the two"),
    (["trainer.losses.sliced_scripted_cloner.enabled=true", "training_env.supervisor_policy_uri=metta://policy/scripted",
      "trainer.losses.sliced_scripted_cloner.teacher_led_proportion=0.8",
      "trainer.losses.sliced_scripted_cloner.student_led_proportion=0.5"],
     "trainer.losses.sliced_scripted_cloner.student_led_proportion"),
    (["trainer.losses.ppo_critic.critic_update=td"], "trainer.losses.ppo_critic.critic_update"),
    (["trainer.losses.ppo_actor.enabled=false", "trainer.losses.ppo_critic.enabled=false"], "no loss is enabled"),
])
def test_bad_teacher_settings_are_refused_in_one_line(tmp_path, overrides, key):
    result = run_train("run=bad", f"train_dir={tmp_path}", *TINY, *overrides)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert key in result.stderr
