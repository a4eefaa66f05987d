"""`tools/train.py`: compose the job's typed config pieces and run the trainer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from pydantic import ValidationError

from metta.common.uri import atomic_write_bytes
from metta.common.tool import env_config_from, job_config_from, to_container
from metta.rl.metrics_log import WandbConfig
from metta.rl.train_job import TrainJobConfig
from metta.rl.trainer_config import TrainerConfig
from metta.sim.simulation_config import SimulationSuiteConfig
from mettagrid.errors import ConfigError, describe_validation_error

# Keys of train_job.yaml that are aliases or accepted for compatibility, not job settings.
_ALIASES = ("run_name", "device", "stats_client")
_GROUPS = ("env", "trainer", "agent", "sim", "wandb", "hydra")


def apply_aliases(cfg: DictConfig) -> DictConfig:
    """The original's spellings: `run_name=` for `run=`, `device=` for `system.device=`."""
    if cfg.get("run_name"):
        cfg.run = cfg.run_name
    if cfg.get("device"):
        cfg.system.device = cfg.device
    return cfg


def validate_architecture(data: Any) -> dict[str, Any]:
    from metta.agent.architectures import parse_architecture

    if not isinstance(data, dict):
        raise ConfigError(f"agent: must be a mapping (got {data!r})")
    return parse_architecture(data).model_dump()


def save_config(cfg: DictConfig, run_dir: Path) -> Path:
    """The merged config of the run, as YAML beside its checkpoints (atomic: temp file + rename)."""
    path = run_dir / "config.yaml"
    atomic_write_bytes(path, OmegaConf.to_yaml(cfg, resolve=True).encode("utf-8"))
    return path


def train(cfg: DictConfig) -> dict[str, float]:
    import torch

    from metta.rl.distributed import setup_distributed, teardown_distributed
    from metta.rl.trainer import Trainer
    from metta.sim.evaluate import evaluate_suite

    cfg = apply_aliases(cfg)
    env_config = env_config_from(cfg)
    trainer_cfg = job_config_from(cfg, "trainer", TrainerConfig)
    architecture = validate_architecture(to_container(cfg.agent))
    wandb_cfg = job_config_from(cfg, "wandb", WandbConfig)
    suite = job_config_from(cfg, "sim", SimulationSuiteConfig) if cfg.get("sim") else None
    job_keys = {k: v for k, v in to_container(cfg).items() if k not in _GROUPS + _ALIASES}
    try:
        job = TrainJobConfig.model_validate(job_keys)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, data=job_keys)) from None
    from metta.rl.teacher import check_vectorization
    from metta.rl.trainer_config import rollout_shape

    try:
        rollout_shape(trainer_cfg, env_config.game.num_agents)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    check_vectorization(job.teacher, trainer_cfg.vectorization)

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
        save_config(cfg, run_dir)

    skipped_simulations: set[str] = set()  # warn once per simulation the policy cannot play

    def evaluator(policy, epoch: int) -> dict[str, float]:
        return evaluate_suite(policy, suite, seed=job.seed, device=device, skipped=skipped_simulations)

    try:
        trainer = Trainer(job, trainer_cfg, env_config, architecture, wandb_cfg, dist_info, device,
                          full_config, evaluator=evaluator if suite else None)
        return trainer.train()
    finally:
        teardown_distributed()


def summary_yaml(metrics: dict[str, float]) -> str:
    keys = [k for k in metrics if k.startswith(("overview/", "eval/")) or k == "metric/epoch"]
    return yaml.safe_dump({k: round(float(metrics[k]), 4) for k in sorted(keys)}, sort_keys=False)
