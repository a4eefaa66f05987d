"""Where training numbers go: the console (progress bar + summary lines), a JSONL file in the
run directory, and Weights & Biases. The trainer calls `log(metrics, agent_steps)`; each sink
decides what to show."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class WandbConfig(BaseModel):
    """Weights & Biases logging (the `wandb:` group)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Log to wandb at all")
    mode: Literal["auto", "online", "offline"] = Field(
        "auto", description="auto: online when WANDB_API_KEY is set, offline otherwise"
    )
    project: str = Field("metta", description="wandb project")
    entity: str | None = Field(None, description="wandb entity (team or user)")
    group: str | None = None
    name: str | None = Field(None, description="wandb run name; None = the run's name")
    tags: list[str] = Field(default_factory=list)

    def resolved_mode(self) -> str:
        if self.mode != "auto":
            return self.mode
        return "online" if os.environ.get("WANDB_API_KEY") else "offline"


class JsonlSink:
    """Append-only metrics history: one JSON object per log call, flushed each time."""

    def __init__(self, path: Path):
        self.path = path
        self._file = open(path, "a", buffering=1)

    def log(self, metrics: dict[str, Any], agent_steps: int) -> None:
        self._file.write(json.dumps({"agent_steps": agent_steps, "time": time.time(), **metrics}) + "\n")

    def close(self) -> None:
        self._file.close()


class WandbSink:
    def __init__(self, cfg: WandbConfig, run: str, run_dir: Path, config: dict[str, Any]):
        import wandb

        self._wandb = wandb
        self._run_name = run  # names the model artifact, whatever the wandb display name
        self.run = wandb.init(
            project=cfg.project,
            entity=cfg.entity,
            group=cfg.group,
            tags=cfg.tags or None,
            name=cfg.name or run,
            id=_wandb_id(run),
            resume="allow",
            mode=cfg.resolved_mode(),
            dir=str(run_dir),
            config=config,
        )

    def log(self, metrics: dict[str, Any], agent_steps: int) -> None:
        self._wandb.log({**metrics, "metric/agent_step": agent_steps}, step=agent_steps)

    def log_checkpoint(self, path: Path, metadata: dict[str, Any]) -> None:
        """The checkpoint (and its metadata sidecar) as a `model` artifact named after the run,
        so `wandb://run/<run>` finds it (offline runs stage it for `wandb sync`)."""
        artifact = self._wandb.Artifact(_wandb_id(self._run_name), type="model", metadata=metadata)
        artifact.add_file(str(path))
        sidecar = path.with_suffix(".json")
        if sidecar.is_file():
            artifact.add_file(str(sidecar))
        self.run.log_artifact(artifact, aliases=["latest", f"v{metadata.get('epoch', 0)}"])

    def close(self) -> None:
        self._wandb.finish()


def _wandb_id(run: str) -> str:
    """wandb run ids may not contain some characters our run names allow."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in run)[:128]


class ConsoleSink:
    """A progress bar over agent steps (on a terminal) and a summary line every few seconds."""

    SUMMARY_KEYS = (
        ("overview/sps", "sps", "{:.0f}"),
        ("overview/reward", "reward", "{:.3f}"),
        ("losses/policy_loss", "pi_loss", "{:.4f}"),
        ("losses/value_loss", "v_loss", "{:.4f}"),
        ("losses/entropy", "entropy", "{:.3f}"),
        ("losses/approx_kl", "kl", "{:.4f}"),
        ("curriculum/num_tasks", "tasks", "{:.0f}"),
        ("curriculum/entropy", "task_H", "{:.2f}"),
    )

    def __init__(self, total_steps: int, start_steps: int, interval_s: float, run: str):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        # soft_wrap: a summary line stays one line in logs and pipes, whatever the width.
        self.console = Console(stderr=False, soft_wrap=True)
        self.interval_s = interval_s
        self._last_print = 0.0
        self.progress = Progress(
            TextColumn(f"[bold]{run}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("agent steps"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not self.console.is_terminal,
        )
        self.task = self.progress.add_task("train", total=total_steps, completed=start_steps)
        self.progress.start()

    def log(self, metrics: dict[str, Any], agent_steps: int, force: bool = False) -> None:
        self.progress.update(self.task, completed=agent_steps)
        now = time.monotonic()
        if not force and now - self._last_print < self.interval_s:
            return
        self._last_print = now
        parts = [f"epoch {int(metrics.get('metric/epoch', 0))}", f"steps {agent_steps:,}"]
        for key, label, fmt in self.SUMMARY_KEYS:
            if key in metrics:
                parts.append(f"{label} {fmt.format(metrics[key])}")
        self.console.print(" | ".join(parts), highlight=False)

    def close(self) -> None:
        self.progress.stop()
