"""`tools/train.py`: compose the job's typed config pieces and run the trainer."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from metta.common.tool import validate_job
from metta.common.uri import atomic_write_bytes
from mettagrid.errors import ConfigError


def apply_aliases(cfg: DictConfig) -> DictConfig:
    """The original's spellings: `run_name=` for `run=`, `device=` for `system.device=`
    (the aliases listed for train_job in metta/common/config_table.py)."""
    if cfg.get("run_name"):
        cfg.run = cfg.run_name
    if cfg.get("device"):
        cfg.system.device = cfg.device
    return cfg


def cross_check(parts: dict[str, Any]) -> None:
    """What no single part can check: the batch fits the env's agents (and this machine's
    memory, on cpu), the teacher the engine. With `trainer.curriculum`, the curriculum is loaded
    here (refused in one line if bad) and its first task stands for `env`: the layout all share."""
    from metta.rl.teacher import check_vectorization
    from metta.rl.train_job import resolve_teacher
    from metta.rl.trainer_config import check_rollout_fits, rollout_shape

    if parts["trainer"].curriculum:
        from metta.rl.curriculum import load_curriculum

        # Each rank draws its own tasks (seeded like its envs); rank 0 saves its state.
        seed = parts[""].seed + 10007 * int(os.environ.get("RANK", "0"))
        parts["curriculum"] = load_curriculum(parts["trainer"].curriculum, seed=seed)
        parts["env"] = parts["curriculum"].config(0)
        if parts["trainer"].vectorization != "threads":
            raise ConfigError("trainer.curriculum: needs trainer.vectorization=threads (tasks switch inside the "
                              "C++ vector)")
    try:
        shape = rollout_shape(parts["trainer"], parts["env"].game.num_agents)
        check_rollout_fits(shape, parts["env"].game.num_observation_tokens, parts[""].system.device)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    teacher, _ = resolve_teacher(parts[""], parts["trainer"])
    check_vectorization(teacher, parts["trainer"].vectorization)


# Envs a CPU run builds before its first epoch in well under a minute (map building is Python).
MANY_CPU_ENVS = 1024


def warn_if_slow_to_start(trainer_cfg, env_config, device: str) -> None:
    """One line on stderr when a CPU run must build so many envs that minutes pass in silence
    (the guide's trainer.batch_size=2097152 is 8192 CoGsGuard envs)."""
    from metta.rl.trainer_config import rollout_shape

    shape = rollout_shape(trainer_cfg, env_config.game.num_agents)
    if device == "cpu" and shape.num_envs > MANY_CPU_ENVS:
        print(f"note: trainer.batch_size={trainer_cfg.batch_size} lays out {shape.num_envs} envs x "
              f"{shape.agents_per_env} agents; building them takes minutes on a CPU before the first epoch "
              "(a GPU-box setting; the cpu preset uses 12288)", file=sys.stderr, flush=True)


def save_config(cfg: DictConfig, run_dir: Path) -> Path:
    """The merged config of the run, as YAML beside its checkpoints (atomic: temp file + rename)."""
    path = run_dir / "config.yaml"
    atomic_write_bytes(path, OmegaConf.to_yaml(cfg, resolve=True).encode("utf-8"))
    return path


def remove_leftovers(run_dir: Path) -> None:
    """Temp files of atomic writes a killed run left in its directories (metta.common.uri)."""
    from metta.common.uri import remove_stale_temp_files

    for directory in (run_dir, run_dir / "checkpoints", run_dir / "replays"):
        remove_stale_temp_files(directory)


def train(cfg: DictConfig) -> dict[str, float]:
    import torch

    from metta.rl.distributed import barrier, setup_distributed, teardown_distributed
    from metta.rl.trainer import Trainer
    from metta.sim.evaluate import evaluate_suite

    cfg = apply_aliases(cfg)
    parts = validate_job(cfg, "train_job")
    job, env_config, trainer_cfg, suite = parts[""], parts["env"], parts["trainer"], parts["sim"]
    curriculum = parts.get("curriculum")  # set by cross_check with trainer.curriculum
    cfg.trainer.learning_rate = trainer_cfg.learning_rate  # trainer.optimizer.learning_rate wins when set
    architecture, wandb_cfg = parts["agent"].model_dump(), parts["wandb"]
    warn_if_slow_to_start(trainer_cfg, env_config, job.system.device)

    dist_info, device = setup_distributed(job.system.device)
    if dist_info.enabled:
        # Each rank composed its own default run name (a timestamp); rank 0's wins.
        import torch.distributed as dist

        names = [job.run]
        dist.broadcast_object_list(names, src=0)
        job = job.model_copy(update={"run": names[0]})
        cfg.run = names[0]
    if job.system.torch_threads:
        torch.set_num_threads(job.system.torch_threads)
    full_config = OmegaConf.to_container(cfg, resolve=True)
    run_dir = Path(job.train_dir) / job.run
    if dist_info.is_main:
        remove_leftovers(run_dir)

    skipped_simulations: set[str] = set()  # warn once per simulation the policy cannot play

    def evaluator(policy, epoch: int) -> dict[str, float]:
        return evaluate_suite(policy, suite, seed=job.seed, device=device, skipped=skipped_simulations)

    try:
        trainer = Trainer(job, trainer_cfg, env_config, architecture, wandb_cfg, dist_info, device,
                          full_config, evaluator=evaluator if suite else None, curriculum=curriculum)
        # Saved once the run is known to start: a refused resume (another env, no loadable
        # checkpoint) leaves the run's config as it was.
        if dist_info.is_main:
            save_config(cfg, run_dir)
        metrics = trainer.train()
        # No rank tears the group down while another may still be in a collective (one rank of
        # the two-process gloo test once aborted at exit under load; this rules out that cause).
        barrier(dist_info)
        return metrics
    finally:
        teardown_distributed()


def main(cfg: DictConfig) -> None:
    """tools/train.py: train, then print the final metrics (rank 0 speaks for a torchrun job)."""
    metrics = train(cfg)
    if os.environ.get("RANK", "0") == "0":
        print("final metrics:\n" + summary_yaml(metrics or {}), end="")


def summary_yaml(metrics: dict[str, float]) -> str:
    keys = [k for k in metrics if k.startswith(("overview/", "eval/")) or k == "metric/epoch"]
    return yaml.safe_dump({k: round(float(metrics[k]), 4) for k in sorted(keys)}, sort_keys=False)
