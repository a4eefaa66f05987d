"""The PPO trainer: collect a rollout, compute advantages, update, log, checkpoint. Repeat.

`Trainer.train()` reads top to bottom: `collect()` fills the preallocated (T, N) experience
from the C++ vector env, `update()` runs PPO over minibatches of BPTT segments, and the
loop around them logs, checkpoints, evaluates and resumes. With a teacher (`teacher.mode`,
metta/rl/teacher.py) some rows act with the teacher's actions and a BC loss joins PPO's.
Under torchrun every rank collects its own rollouts (different seeds), DistributedDataParallel
averages gradients across ranks, and only rank 0 writes checkpoints and logs.
"""

from __future__ import annotations

import math
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metta.agent.architectures import make_policy
from metta.agent.env_info import PolicyEnvInfo
from metta.common.config_table import load
from metta.rl.advantage import compute_gae
from metta.rl.checkpoint import CheckpointManager
from metta.rl.distributed import DistributedInfo, barrier, mean_over_ranks
from metta.rl.experience import Experience, LossBatch
from metta.rl.heartbeat import beat
from metta.rl.losses import LOSSES
from metta.rl.metrics_log import ConsoleSink, JsonlSink, WandbConfig, WandbSink
from metta.rl.ppo import explained_variance
from metta.rl.precision import Precision
from metta.rl.profiling import EpochProfiler, make_stopwatch
from metta.rl.teacher import make_teacher
from metta.rl.train_job import TrainJobConfig, resolve_supervisor, resolve_teacher
from metta.rl.trainer_config import TrainerConfig, rollout_shape
from metta.rl.training_env import TrainingEnv
from mettagrid.config import EnvConfig
from mettagrid.errors import ConfigError


class Trainer:
    def __init__(self, job: TrainJobConfig, trainer_cfg: TrainerConfig, env_config: EnvConfig,
                 agent_cfg: dict[str, Any], wandb_cfg: WandbConfig, dist_info: DistributedInfo,
                 device: torch.device, full_config: dict[str, Any], evaluator=None, curriculum=None):
        # The teacher from either spelling (teacher=... or the cloner loss row + supervisor).
        teacher_cfg, trainer_cfg = resolve_teacher(job, trainer_cfg)
        teacher_cfg = resolve_supervisor(job, trainer_cfg, teacher_cfg)
        self.job, self.cfg, self.env_config = job, trainer_cfg, env_config
        # The enabled rows of the loss table: (name, their config, the function computing them).
        enabled = {name: row for name, row in LOSSES.items() if getattr(trainer_cfg.losses, name).enabled}
        self.losses = [(name, getattr(trainer_cfg.losses, name), load(row.compute))
                       for name, row in enabled.items() if row.compute]
        self.needs_hidden = any(row.needs_hidden for row in enabled.values())
        self.dist, self.device = dist_info, device
        self.run_dir = Path(job.train_dir) / job.run
        self.evaluator = evaluator
        self._seed_everything(job.seed + 1009 * dist_info.rank)

        self.shape = rollout_shape(trainer_cfg, env_config.game.num_agents)
        num_workers = trainer_cfg.num_workers or job.default_num_workers(dist_info.world_size)
        # With a curriculum (metta/rl/curriculum), env_config is its first task: the layout all share.
        self.curriculum = curriculum
        self.env = TrainingEnv(env_config, self.shape.num_envs, num_workers,
                               seed=job.seed + 10007 * dist_info.rank, vectorization=trainer_cfg.vectorization,
                               curriculum=curriculum)
        self.env_info = PolicyEnvInfo.from_vec_env(self.env.vec)

        self.checkpoints = CheckpointManager(job.run, self.run_dir)
        self.epoch, self.agent_steps = 0, 0
        self.policy = self._load_or_create_policy(agent_cfg)
        # The losses' own modules (projection/prediction heads), trained with the policy and
        # saved in the trainer state (metta/rl/losses.py).
        self.aux_heads = torch.nn.ModuleDict({
            name: load(row.head)(getattr(trainer_cfg.losses, name), self.policy)
            for name, row in enabled.items() if row.head}).to(device)
        self.optimizer = self._make_optimizer()
        self._resume_trainer_state()
        # Training passes go through this module; under torchrun it is wrapped in
        # DistributedDataParallel, which starts every rank from rank 0's weights and averages
        # gradients across ranks during backward().
        self.train_model: torch.nn.Module = _SequenceModel(self.policy, self.aux_heads)
        if dist_info.enabled:
            from torch.nn.parallel import DistributedDataParallel

            device_ids = [device.index] if device.type == "cuda" else None
            self.train_model = DistributedDataParallel(self.train_model, device_ids=device_ids)
        if trainer_cfg.compile:
            from torch import _dynamo  # not `import torch._dynamo`: that would make `torch` local here

            # A graph dynamo cannot capture runs eagerly instead of stopping the run.
            _dynamo.config.suppress_errors = True
            self.train_model = torch.compile(self.train_model)
        self.precision = Precision(trainer_cfg.amp, device)
        # Per-phase seconds (timing/* metrics) and periodic torch profiler traces: metta/rl/profiling.py.
        self.watch = make_stopwatch(trainer_cfg.profiler, device)
        self.profiler = EpochProfiler(trainer_cfg.profiler, self.run_dir, device, dist_info.is_main)

        pairs = self.policy.action_pairs
        self._pair_to_env_action = pairs.to_actions  # vectorised pair index -> (action, arg)
        state_shapes = tuple(tuple(s.shape) for s in self.policy.initial_state(1, device))
        self.experience = Experience(self.shape.horizon, self.shape.num_agents,
                                     tuple(self.env.vec.observation_space.shape), trainer_cfg.bptt_horizon,
                                     state_shapes, device)
        # Behavioural cloning from a teacher alongside PPO (metta/rl/teacher.py); None without one.
        # Observations reach the device through pinned memory, so the copy can run async.
        self._obs_host = torch.empty(self.experience.obs.shape[1:], dtype=self.experience.obs.dtype).pin_memory() \
            if trainer_cfg.pin_memory and device.type == "cuda" else None
        self.teacher = make_teacher(teacher_cfg, self.env, pairs, self.shape.horizon, trainer_cfg.bptt_horizon,
                                    device, seed=job.seed + 1009 * dist_info.rank)
        # Each enabled row's `setup` object (teachers, per-rollout advantages), by row name.
        self.loss_state = {name: load(row.setup)(getattr(trainer_cfg.losses, name), self)
                           for name, row in enabled.items() if row.setup}
        self.sinks = self._make_sinks(wandb_cfg, full_config) if dist_info.is_main else []
        self.console = next((s for s in self.sinks if isinstance(s, ConsoleSink)), None)
        self._stop_requested = False

    # -- set-up ---------------------------------------------------------------------------------

    @staticmethod
    def _seed_everything(seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)

    def _load_or_create_policy(self, agent_cfg: dict[str, Any]):
        resumed = self._resume_from_checkpoints(agent_cfg)
        if resumed is not None:
            policy, self._resumed_from = resumed
            # Without a trainer state (crash before the first one was written, or an unreadable
            # one) the checkpoint's own metadata still says how far training got.
            metadata = policy.checkpoint_metadata
            self.epoch = int(metadata.get("epoch") or 0)
            self.agent_steps = int(metadata.get("agent_steps") or 0)
        elif self.job.initial_policy.uri:
            policy = self._load_initial_policy(agent_cfg)
            self._resumed_from = None
        else:
            policy = make_policy(agent_cfg, self.env_info)
            self._resumed_from = None
        return policy.to(self.device)

    def _resume_from_checkpoints(self, agent_cfg: dict[str, Any]):
        """(policy, path) to resume this run from, or None for a new run.

        The checkpoint the trainer state names is tried first, then the others, newest first;
        the first that loads wins, so a truncated or NaN newest checkpoint costs the epochs
        since the one before it, never the run. Files that fail are set aside
        (`<name>.unusable`) and one line says so. The optimizer and RNG state are restored
        only with the checkpoint they were saved with; otherwise (an unreadable
        `trainer_state.pt`, a fallback) training goes on from the weights with a fresh
        optimizer, said in one line. When no checkpoint loads, or the run was trained on
        another env, the run stops with one line and nothing is changed."""
        from metta.agent.policy_file import CheckpointError, load_policy

        self._trainer_state, state_problem = None, None
        try:
            self._trainer_state = self.checkpoints.load_trainer_state()
        except CheckpointError as error:
            state_problem = str(error)
        order = self.checkpoints.resume_order(self._trainer_state)
        if not order:
            self._trainer_state = None
            return None
        faults: list[tuple[Path, str]] = []
        loaded = None
        for epoch, path in order:
            try:
                loaded = epoch, path, load_policy(path, device="cpu")
                break
            except CheckpointError as error:
                faults.append((path, str(error)))
        if loaded is None:
            raise ConfigError(f"{faults[0][1]}; no other checkpoint of run {self.job.run} loads: remove "
                              f"{self.run_dir} or pick another run= to start over")
        epoch, path, policy = loaded
        self._require_same_env(policy, f"run {self.job.run} ({path})", resuming=True)
        self._note_other_architecture(policy, agent_cfg)
        if self._trainer_state is not None and epoch != int(self._trainer_state["epoch"]):
            if not faults:  # not a bad file: the checkpoint the state names is gone
                state_problem = (f"{self.checkpoints.trainer_state_path}: names epoch "
                                 f"{int(self._trainer_state['epoch'])}, whose checkpoint is missing")
            self._trainer_state = None  # it goes with a checkpoint that is missing or did not load
        if self.dist.is_main:
            where = f"resuming from {path.name} (epoch {epoch}) with a fresh optimizer state"
            if faults:
                for bad, _ in faults:
                    self.checkpoints.set_aside(bad)
                more = f" (and {len(faults) - 1} more unusable checkpoint(s))" if len(faults) > 1 else ""
                _warn(f"{faults[0][1]}{more}; renamed to <name>.unusable, {where}")
            elif state_problem:
                _warn(f"{state_problem}; {where}")
        return policy, path

    def _load_initial_policy(self, agent_cfg: dict[str, Any]):
        """The policy a new run starts from; every way it can be unusable is one ConfigError
        naming `initial_policy.uri` and the file."""
        from metta.agent.policy_uri import resolve_policies

        wanted = self.job.initial_policy
        try:
            spec = resolve_policies(wanted.uri, selector=wanted.selector, metric=wanted.metric)[0]
            policy = spec.load("cpu")
        except ValueError as error:  # PolicyStoreError, CheckpointError: already one line naming the file
            raise ConfigError(f"initial_policy.uri: {error}") from None
        source = f"initial_policy.uri: {spec.local_checkpoint()}"
        self._require_same_env(policy, source, resuming=False)
        differences = architecture_differences(policy.architecture, agent_cfg)
        if differences:
            raise ConfigError(f"{source}: saved with another architecture ({', '.join(differences)}); "
                              f"add {' '.join(_overrides(policy.architecture, agent_cfg))} to start from it")
        return policy

    def _require_same_env(self, policy, source: str, resuming: bool) -> None:
        if policy.env_info == self.env_info:
            return
        difference = describe_env_difference(policy.env_info, self.env_info)
        if resuming:
            raise ConfigError(f"{source}: trained on another env than this one ({difference}); pick another run= "
                              f"for this env, or remove {self.run_dir} to start over")
        raise ConfigError(f"{source}: trained on another env than this run's ({difference}); train on its env "
                          "or start a new policy")

    def _note_other_architecture(self, policy, agent_cfg: dict[str, Any]) -> None:
        """A resumed run keeps the architecture it was trained with: its weights only fit that."""
        differences = architecture_differences(policy.architecture, agent_cfg)
        if differences and self.dist.is_main:
            _warn(f"run {self.job.run} was trained with {', '.join(differences)}; resuming with its own "
                  "architecture (the agent settings given are ignored)", prefix="note")

    def _make_optimizer(self) -> torch.optim.Optimizer:
        opt = self.cfg.optimizer
        kind = torch.optim.AdamW if opt.type == "adamw" else torch.optim.Adam
        return kind(self._trained_parameters(), lr=self.cfg.learning_rate, betas=(opt.beta1, opt.beta2),
                    eps=opt.eps, weight_decay=opt.weight_decay)

    def _trained_parameters(self) -> list[torch.nn.Parameter]:
        return [*self.policy.parameters(), *self.aux_heads.parameters()]

    def _restore_aux_heads(self, saved: dict[str, Any]) -> None:
        """Heads saved with the run come back; a head this run adds starts fresh, one the run no
        longer uses is dropped (each said in one line)."""
        for name, head in self.aux_heads.items():
            if name in saved:
                try:
                    head.load_state_dict(saved[name])
                    continue
                except RuntimeError:
                    pass
            if self.dist.is_main:
                _warn(f"loss {name}: no fitting saved head in {self.checkpoints.trainer_state_path.name}; "
                      "it starts fresh", prefix="note")

    def _resume_trainer_state(self) -> None:
        state = self._trainer_state if self._resumed_from is not None else None
        if state is None:
            return
        from metta.rl.checkpoint import restore_rng_state

        try:
            epoch, agent_steps = int(state["epoch"]), int(state["agent_steps"])
            self._restore_aux_heads(state.get("aux_heads") or {})
            if state.get("optimizer"):
                self.optimizer.load_state_dict(state["optimizer"])
            if state.get("rng"):
                restore_rng_state(state["rng"])
            if self.curriculum is not None and state.get("curriculum"):
                self.curriculum.load_state_dict(state["curriculum"])
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as error:
            # A state that reads but does not fit (another optimizer, a damaged entry): the
            # weights are fine, so go on from them rather than stop.
            self.optimizer = self._make_optimizer()
            if self.dist.is_main:
                _warn(f"{self.checkpoints.trainer_state_path}: trainer state does not fit this run "
                      f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
                      f"resuming from {self._resumed_from.name} with a fresh optimizer state")
            return
        self.epoch, self.agent_steps = epoch, agent_steps

    def _make_sinks(self, wandb_cfg: WandbConfig, full_config: dict[str, Any]) -> list:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        sinks: list = [JsonlSink(self.run_dir / "metrics.jsonl"),
                       ConsoleSink(self.cfg.total_timesteps, self.agent_steps, self.cfg.log_interval_s, self.job.run,
                                   self.shape.batch_size * self.dist.world_size)]
        if wandb_cfg.enabled:
            sinks.append(WandbSink(wandb_cfg, self.job.run, self.run_dir, full_config))
        return sinks

    # -- the loop -------------------------------------------------------------------------------

    def train(self) -> dict[str, float]:
        self._install_signal_handlers()
        observations = self.env.reset()
        n = self.shape.num_agents
        state = self.policy.initial_state(n, self.device)
        done = torch.zeros(n, dtype=torch.bool, device=self.device)
        steps_per_epoch = self.shape.batch_size * self.dist.world_size
        last_checkpoint_time, metrics = time.monotonic(), {}
        self._log_start()
        try:
            while self.agent_steps < self.cfg.total_timesteps and not self._stop_requested:
                epoch_start = time.perf_counter()
                self._set_learning_rate()
                with self.profiler.epoch(self.epoch + 1):
                    observations, state, done, episode_infos = self.collect(observations, state, done)
                    collect_s = time.perf_counter() - epoch_start
                    losses = self.update()
                self.epoch += 1
                self.agent_steps += steps_per_epoch
                epoch_s = time.perf_counter() - epoch_start
                metrics = self._epoch_metrics(losses, episode_infos, steps_per_epoch, epoch_s, collect_s, metrics)
                if self.evaluator is not None and self.cfg.evaluate_interval and \
                        self.epoch % self.cfg.evaluate_interval == 0 and self.dist.is_main:
                    metrics.update(self.evaluator(self.policy, self.epoch))
                if self.cfg.replay_interval and self.epoch % self.cfg.replay_interval == 0 and self.dist.is_main:
                    self.write_replay()
                self._log(metrics)
                beat(self.run_dir, "running", self.epoch, self.agent_steps, self.dist.is_main)
                due = self.epoch % self.cfg.checkpoint_interval == 0 or \
                    time.monotonic() - last_checkpoint_time > self.cfg.checkpoint_interval_s
                due, self._stop_requested = self._agree(due, self._stop_requested)
                if due:
                    self.save_checkpoint(metrics)
                    last_checkpoint_time = time.monotonic()
            self.save_checkpoint(metrics)
        finally:
            beat(self.run_dir, "exit", self.epoch, self.agent_steps, self.dist.is_main)
            self._close()
        return metrics

    def write_replay(self) -> str:
        """Record one episode of the current policy (own env, so training is untouched)."""
        from metta.agent.policy_actor import PolicyActor
        from metta.sim.replay import record_episode, replay_destination, write_replay

        replay_dir = (self.cfg.replay_dir or str(self.run_dir / "replays")).removeprefix("file://")
        metadata = {"run": self.job.run, "epoch": self.epoch, "agent_steps": self.agent_steps}
        replay = record_episode(self.env_config, lambda env: PolicyActor(self.policy, env, self.device),
                                seed=self.job.seed + self.epoch, metadata=metadata)
        where = write_replay(replay, replay_destination(replay_dir, f"{self.job.run}_e{self.epoch:05d}"),
                             "trainer.replay_dir")
        print(f"[{self.job.run}] epoch {self.epoch}: replay written to {where}", flush=True)
        return where

    def collect(self, observations: np.ndarray, state, done: torch.Tensor):
        """Fill the experience with `horizon` steps of every agent; returns the carried-over loop state.

        With a teacher, teacher-led rows step the env with the teacher's action; the experience
        still holds the student's own sample and its log-prob there (those steps skip PPO)."""
        exp, policy, teacher = self.experience, self.policy, self.teacher
        infos: list[dict[str, Any]] = []
        policy.eval()
        if teacher is not None:
            teacher.begin_rollout(self.agent_steps)
        watch = self.watch
        with torch.no_grad():
            for t in range(exp.horizon):
                with watch("copies"):
                    exp.store_state_if_segment_start(t, state)
                    obs_t = exp.obs[t]
                    obs_t.copy_(self._staged(observations), non_blocking=True)
                    exp.resets[t] = done
                with watch("policy_act"):
                    pair, logprob, _, value, state = policy.act(obs_t, state, done)
                    actions = self._pair_to_env_action(pair.cpu().numpy())
                if teacher is not None:
                    actions = teacher.act(t, observations, actions)
                with watch("env_step"):
                    observations, rewards, dones, step_infos = self.env.step(actions)
                if teacher is not None:
                    teacher.observe_dones(dones)
                with watch("copies"):
                    exp.actions[t] = pair
                    exp.logprobs[t] = logprob
                    exp.values[t] = value
                    exp.rewards[t].copy_(torch.from_numpy(rewards))
                    done = torch.from_numpy(dones).to(self.device)
                    exp.dones[t] = done.float()
                if step_infos:
                    infos.extend(step_infos)
            _, next_value, _ = policy(torch.from_numpy(observations).to(self.device), state, done)
        exp.advantages, exp.returns = compute_gae(exp.rewards, exp.values, exp.dones, next_value,
                                                  self.cfg.gamma, self.cfg.gae_lambda)
        for helper in self.loss_state.values():
            if hasattr(helper, "after_rollout"):
                helper.after_rollout(self)
        return observations, state, done, infos

    def _staged(self, observations: np.ndarray) -> torch.Tensor:
        """The observations as a tensor to copy to the device: through the pinned buffer on CUDA."""
        if self._obs_host is None:
            return torch.from_numpy(observations)
        self._obs_host.numpy()[...] = observations
        return self._obs_host

    def update(self) -> dict[str, float]:
        """The enabled losses of the table (metta/rl/losses.py: PPO's actor and critic, BC with a
        teacher) summed over shuffled minibatches of BPTT segments, `update_epochs` times."""
        exp, cfg, policy = self.experience, self.cfg, self.policy
        target_kl = cfg.losses.ppo_actor.target_kl if cfg.losses.ppo_actor.enabled else None
        policy.train()
        totals: dict[str, float] = {}
        count = 0
        for epoch in range(cfg.update_epochs):
            order = torch.randperm(exp.num_segments, device=self.device)
            stop_early = False
            for segment_ids in order.split(self.shape.segments_per_minibatch):
                mb = exp.minibatch(segment_ids)
                with self.watch("forward"), self.precision.autocast():
                    logits, values, hidden = self.train_model(mb["obs"], mb["resets"], self.needs_hidden,
                                                              *mb["state"])
                    # The losses read fp32 logits and values: log-softmax and ratios need the range.
                    logits = logits.reshape(-1, logits.shape[-1]).float()
                    hidden = hidden.float() if hidden is not None else None
                    guide = self.teacher.minibatch(segment_ids) if self.teacher is not None else None
                    # Teacher-led steps leave PPO: the student did not choose their actions.
                    batch = LossBatch(policy, logits, values.reshape(mb["values"].shape).float(), mb, cfg.gamma,
                                      cfg.gae_lambda, ppo_steps=guide.ppo if guide is not None else None, guide=guide,
                                      hidden=hidden, aux=self.aux_heads, state=self.loss_state,
                                      agent_steps=self.agent_steps)
                    loss, reported = batch.zero(), {}
                    for _, loss_cfg, compute in self.losses:
                        term, numbers = compute(batch, loss_cfg)
                        loss = loss + term
                        reported.update(numbers)
                for key, value in reported.items():
                    totals[key] = totals.get(key, 0.0) + float(value)
                if guide is not None and epoch == 0:
                    self.teacher.observe_agreement(logits.detach(), guide)
                with self.watch("backward"):
                    self.optimizer.zero_grad(set_to_none=True)
                    self.precision.backward(loss)  # DDP all-reduces gradients here under torchrun
                with self.watch("optimizer"):
                    self.precision.unscale(self.optimizer)
                    # The norm before clipping, averaged over the update as losses/grad_norm.
                    grad_norm = torch.nn.utils.clip_grad_norm_(self._trained_parameters(), cfg.max_grad_norm)
                    self.precision.step(self.optimizer)
                totals["grad_norm"] = totals.get("grad_norm", 0.0) + float(grad_norm)
                count += 1
                if target_kl is not None and "approx_kl" in reported and float(reported["approx_kl"]) > target_kl:
                    stop_early = True
                    break
            if stop_early:
                break
        losses = {key: value / max(count, 1) for key, value in totals.items()}
        losses["explained_variance"] = explained_variance(exp.values.flatten(), exp.returns.flatten())
        return losses

    def _agree(self, *flags: bool) -> tuple[bool, ...]:
        """Every rank must take the same branch (checkpoint now? stop now?) or collectives
        deadlock; a flag raised on any rank (a timer, a signal) holds on all."""
        if not self.dist.enabled:
            return flags
        import torch.distributed as dist

        tensor = torch.tensor([int(flag) for flag in flags], device=self.device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return tuple(bool(value) for value in tensor.tolist())

    def _set_learning_rate(self) -> None:
        progress = min(1.0, self.agent_steps / self.cfg.total_timesteps)
        if self.cfg.lr_schedule == "linear":
            scale = 1.0 - progress
        elif self.cfg.lr_schedule == "cosine":
            scale = 0.5 * (1.0 + math.cos(math.pi * progress))
        else:
            scale = 1.0
        for group in self.optimizer.param_groups:
            group["lr"] = self.cfg.learning_rate * max(scale, 0.0)

    # -- metrics, checkpoints, shutdown ---------------------------------------------------------

    def _epoch_metrics(self, losses, episode_infos, steps, epoch_s, collect_s, previous) -> dict[str, float]:
        metrics: dict[str, float] = {f"losses/{key}": value for key, value in losses.items()}
        if episode_infos:
            metrics["overview/reward"] = float(np.mean([info["episode_return"] for info in episode_infos]))
            metrics["overview/episode_length"] = float(np.mean([info["episode_length"] for info in episode_infos]))
            for key, name in episode_stat_names(episode_infos).items():
                # Stats are stored only when non-zero: a missing one counts as 0.
                metrics[name] = float(np.mean([info.get(key, 0.0) for info in episode_infos]))
            metrics["overview/episodes"] = float(len(episode_infos))
        elif "overview/reward" in previous:
            metrics["overview/reward"] = previous["overview/reward"]
        if self.teacher is not None:
            metrics.update(self.teacher.metrics())
        metrics = mean_over_ranks(metrics, self.dist, self.device)
        if self.curriculum is not None:  # per rank (each has its own curriculum): rank 0's is logged
            metrics.update(self.curriculum.epoch_metrics())
        metrics.update({
            "overview/sps": steps / epoch_s,
            "metric/epoch": float(self.epoch),
            "metric/agent_step": float(self.agent_steps),
            "timing/collect_s": collect_s,
            "timing/update_s": epoch_s - collect_s,
            "lr": self.optimizer.param_groups[0]["lr"],
            **self.watch.take(),
        })
        if self.profiler.last_trace is not None:
            metrics["timing/trace_epoch"] = float(self.epoch)
            self.profiler.last_trace = None
        return metrics

    def _log(self, metrics: dict[str, float]) -> None:
        for sink in self.sinks:
            sink.log(metrics, self.agent_steps)

    def _log_start(self) -> None:
        if self.console is None:
            return
        where = f"resumed from {self._resumed_from.name} at epoch {self.epoch}" if self._resumed_from else "new run"
        self.console.console.print(
            f"training {self.job.run} ({where}): {self.shape.num_envs} envs x {self.shape.agents_per_env} agents, "
            f"horizon {self.shape.horizon}, batch {self.shape.batch_size * self.dist.world_size:,} agent steps, "
            f"{sum(p.numel() for p in self.policy.parameters()):,} parameters, device {self.device}"
            + (f", {self.dist.world_size} ranks" if self.dist.enabled else ""),
            highlight=False,
        )
        if self.shape.minibatch_note:
            self.console.console.print(self.shape.minibatch_note, highlight=False)

    def save_checkpoint(self, metrics: dict[str, float]) -> None:
        """Policy first, then the trainer state pointing at it: a crash between the two leaves a
        loadable policy and the previous state, never a state without its policy."""
        self._check_ranks_in_sync()
        if self.dist.is_main:
            from metta.rl.checkpoint import capture_rng_state

            score = metrics.get("overview/reward")
            extra = {"score": score, "eval_scores": {k: v for k, v in metrics.items() if k.startswith("eval/")}}
            path = self.checkpoints.save(self.policy, self.epoch, self.agent_steps, extra)
            self.checkpoints.save_trainer_state({
                "epoch": self.epoch,
                "agent_steps": self.agent_steps,
                "optimizer": self.optimizer.state_dict(),
                "rng": capture_rng_state(),
                **({"curriculum": self.curriculum.state_dict()} if self.curriculum is not None else {}),
                **({"aux_heads": {name: {k: v.detach().cpu() for k, v in head.state_dict().items()}
                                  for name, head in self.aux_heads.items()}} if len(self.aux_heads) else {}),
            })
            if self.cfg.keep_checkpoints:
                self.checkpoints.prune(self.cfg.keep_checkpoints)
            self._publish(path, {**extra, "epoch": self.epoch, "agent_steps": self.agent_steps})
        barrier(self.dist)

    def _check_ranks_in_sync(self) -> None:
        """Rank 0 saves the weights for everyone: make sure everyone holds the same ones."""
        if not self.dist.enabled:
            return
        import torch.distributed as dist

        checksum = torch.stack([p.detach().double().sum() for p in self.policy.parameters()]).sum().reshape(1)
        gathered = [torch.zeros_like(checksum) for _ in range(self.dist.world_size)]
        dist.all_gather(gathered, checksum)
        values = torch.cat(gathered)
        if not torch.allclose(values, values[0].expand_as(values), rtol=1e-9, atol=1e-9):
            raise RuntimeError(f"ranks hold different weights (checksums {values.tolist()}): gradients are not synced")

    def _publish(self, path: Path, metadata: dict[str, Any]) -> None:
        """Mirror a checkpoint to S3 and wandb. The local copy is already safe, so a failed
        upload is reported and training goes on."""
        if self.cfg.upload_uri:
            from metta.agent.policy_store import PolicyStore, PolicyStoreError

            target = f"{self.cfg.upload_uri.rstrip('/')}/{self.job.run}/checkpoints/"
            try:
                PolicyStore().upload(path, target)
            except PolicyStoreError as error:
                print(f"upload failed (kept locally): {error}", file=sys.stderr)
        for sink in self.sinks:
            if isinstance(sink, WandbSink):
                sink.log_checkpoint(path, metadata)

    def _install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT finish the current epoch and checkpoint instead of losing it."""
        def request_stop(signum, frame):
            if self._stop_requested:  # a second signal: stop now
                raise KeyboardInterrupt
            self._stop_requested = True
            if self.console is not None:
                self.console.console.print("stopping after this epoch (signal again to abort)", highlight=False)

        try:
            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)
        except ValueError:  # not the main thread (e.g. called from a notebook worker)
            pass

    def _close(self) -> None:
        for sink in self.sinks:
            sink.close()
        self.env.close()


def _warn(message: str, prefix: str = "warning") -> None:
    print(f"{prefix}: {message}", file=sys.stderr, flush=True)


def architecture_differences(saved, agent_cfg: dict[str, Any]) -> list[str]:
    """How a saved policy's architecture differs from the run's `agent` config, one phrase per
    key (`agent=latent_attn_small (this run: fast)`, `agent.hidden_size=32 (this run: 64)`)."""
    from metta.agent.architectures import parse_architecture

    ours = parse_architecture(agent_cfg).model_dump(mode="json")
    theirs = saved.model_dump(mode="json")
    if theirs.get("name") != ours.get("name"):
        return [f"agent={theirs.get('name')} (this run: {ours.get('name')})"]
    return [f"agent.{key}={theirs.get(key)} (this run: {ours.get(key)})"
            for key in sorted(set(ours) | set(theirs)) if ours.get(key) != theirs.get(key)]


def _overrides(saved, agent_cfg: dict[str, Any]) -> list[str]:
    """The command-line overrides that make the run's agent config the saved one."""
    return [phrase.split(" (this run")[0] for phrase in architecture_differences(saved, agent_cfg)]


def describe_env_difference(saved: PolicyEnvInfo, current: PolicyEnvInfo) -> str:
    """What differs between the env a policy was trained on and this one, shortly."""
    parts = []
    if (saved.obs_height, saved.obs_width) != (current.obs_height, current.obs_width):
        parts.append(f"observation window {saved.obs_height}x{saved.obs_width}, here "
                     f"{current.obs_height}x{current.obs_width}")
    for label, theirs, ours in (("actions", saved.action_names, current.action_names),
                                ("features", saved.feature_names, current.feature_names)):
        if theirs == ours:
            continue
        only_theirs = [name for name in theirs if name not in ours]
        only_ours = [name for name in ours if name not in theirs]
        if not only_theirs and not only_ours:
            parts.append(f"the same {label} in another order")
            continue
        shown = []
        if only_theirs:
            shown.append(f"only the checkpoint has {_few(only_theirs)}")
        if only_ours:
            shown.append(f"only this env has {_few(only_ours)}")
        parts.append(f"{label}: " + ", ".join(shown))
    if saved.action_max_args != current.action_max_args and saved.action_names == current.action_names:
        parts.append(f"action args {list(saved.action_max_args)}, here {list(current.action_max_args)}")
    return "; ".join(parts) or "its env tables differ"


def _few(names: list[str], limit: int = 4) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


class _SequenceModel(torch.nn.Module):
    """`policy.forward_sequence` as a module's forward, so DistributedDataParallel (which hooks
    `forward`) can wrap the training pass while rollouts keep calling the policy directly."""

    def __init__(self, policy: torch.nn.Module, aux_heads: torch.nn.ModuleDict):
        super().__init__()
        self.policy = policy
        self.aux_heads = aux_heads  # held here so DistributedDataParallel averages their gradients too

    def forward(self, obs, resets, return_hidden, *state):
        """(logits, values, core output or None); `state` is the policy's state tuple, spread."""
        if return_hidden:
            logits, values, _, hidden = self.policy.forward_sequence(obs, tuple(state), resets, return_hidden=True)
            return logits, values, hidden
        logits, values, _ = self.policy.forward_sequence(obs, tuple(state), resets)
        return logits, values, None


def episode_stat_names(episode_infos: list[dict[str, float]]) -> dict[str, str]:
    """Episode-info keys worth logging -> their metric names: per-agent means as `env_agent/<stat>`,
    and the game stats a team earns (named `<team>/<stat>` by the core, e.g.
    `cogs/aligned.junction.held`) as `env_collective/<team>/<stat>`."""
    names: dict[str, str] = {}
    for key in sorted({key for info in episode_infos for key in info}):
        if key.startswith("agent/"):
            names[key] = "env_agent/" + key.removeprefix("agent/")
        elif key.startswith("game/") and "/" in key.removeprefix("game/"):
            names[key] = "env_collective/" + key.removeprefix("game/")
    return names
