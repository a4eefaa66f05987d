"""The policy file format: weights plus JSON metadata, never pickled code.

File layout
-----------
`<run>:v<epoch>.pt` is a `torch.save` of

    {"format": "metta.policy/1",
     "state_dict": {name: CPU tensor},
     "metadata_json": "<json text>"}

and is read back with `torch.load(weights_only=True)`, so loading a checkpoint can never run
code; the policy is rebuilt from the metadata (`make_policy(architecture, env_info)`) and
then receives the weights with `strict=True`; weights holding NaN or Inf are refused
(`check_finite`). Beside it, `<run>:v<epoch>.json` (see
`sidecar_path`) repeats the metadata so that selectors can rank checkpoints (locally or on
S3) without reading the weights. The sidecar is only a cache: the `.pt` is authoritative.

Metadata keys (`save_policy` fills the ones marked *, the caller gives the rest; extra keys
are kept as they are):

    format*       "metta.policy/1"
    run           run name                      epoch          training epoch (int)
    agent_steps   agent steps so far (int)      created_at*    ISO 8601 UTC time
    architecture* the policy's architecture config, `policy.architecture.model_dump()`
    env_info*     `policy.env_info.to_dict()`: what the policy needs to be rebuilt
    score         float or null: the number `top` ranks by default
    eval_scores   {eval name: float}

Every write is atomic (`metta.common.uri.atomic_write`): a reader, or a crash, sees the
old file or the new one, never a partial one. A run's checkpoints and its trainer state are
managed by `metta.rl.checkpoint.CheckpointManager`.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn

from metta.common.uri import atomic_write, first_line

FORMAT = "metta.policy/1"

_NAME_RE = re.compile(r"(?P<run>.+):v(?P<epoch>[0-9]+)\.pt")  # fullmatch: `$` would pass a trailing newline


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message is one line naming the file."""


# ---------------------------------------------------------------------------------------------
# names


def checkpoint_name(run: str, epoch: int) -> str:
    return f"{run}:v{int(epoch)}.pt"


def parse_checkpoint_name(name: str) -> tuple[str, int] | None:
    """`"my_run:v12.pt"` (or a path ending in it) -> ("my_run", 12); anything else -> None."""
    match = _NAME_RE.fullmatch(Path(name).name)
    return (match["run"], int(match["epoch"])) if match else None


def sidecar_path(path: str | Path) -> Path:
    """`.../run:v3.pt` -> `.../run:v3.json`, the metadata-only copy."""
    return Path(path).with_suffix(".json")


def _write_json(path: Path, data: dict) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n"
    atomic_write(path, lambda file: file.write(text.encode("utf-8")))


def _json_default(value: Any) -> Any:
    # numpy / torch scalars and arrays sneak into metric dicts; paths into configs.
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"checkpoint metadata value of type {type(value).__name__} is not JSON-serialisable")


# ---------------------------------------------------------------------------------------------
# policies


def save_policy(path: str | Path, policy: nn.Module, metadata: dict[str, Any]) -> None:
    """Write the weights and metadata of `policy` to `path`, then the JSON sidecar (both atomic).

    Order: drop any old sidecar, write the `.pt`, write the new sidecar. A crash in between
    leaves a `.pt` without sidecar (readers then use the metadata inside the `.pt`), never a
    sidecar that describes other weights.
    """
    path = Path(path)
    full = _complete_metadata(path, policy, metadata)
    metadata_json = json.dumps(full, default=_json_default)
    state_dict = {
        key: value.detach().cpu() if isinstance(value, torch.Tensor) else value
        for key, value in policy.state_dict().items()
    }
    payload = {"format": FORMAT, "state_dict": state_dict, "metadata_json": metadata_json}
    sidecar_path(path).unlink(missing_ok=True)
    atomic_write(path, lambda file: torch.save(payload, file))
    _write_json(sidecar_path(path), json.loads(metadata_json))


def _complete_metadata(path: Path, policy: nn.Module, metadata: dict[str, Any]) -> dict[str, Any]:
    full: dict[str, Any] = {"score": None, "eval_scores": {}}
    parsed = parse_checkpoint_name(path.name)
    if parsed:
        full["run"], full["epoch"] = parsed
    architecture = getattr(policy, "architecture", None)
    if architecture is not None:
        full["architecture"] = (
            architecture.model_dump(mode="json")
            if hasattr(architecture, "model_dump")
            else dict(architecture)
        )
    env_info = getattr(policy, "env_info", None)
    if env_info is not None:
        full["env_info"] = env_info.to_dict() if hasattr(env_info, "to_dict") else dict(env_info)
    full.update(metadata)
    full["format"] = FORMAT
    full.setdefault("created_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    for key in ("architecture", "env_info"):
        if not isinstance(full.get(key), dict):
            raise ValueError(
                f"{path}: cannot save a policy without '{key}' (give it in metadata or on the policy)"
            )
    return full


def load_policy(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the policy saved at `path` on `device`; `policy.checkpoint_metadata` holds its metadata."""
    path = Path(path)
    payload = _read_payload(path, device)
    metadata = payload["metadata"]
    check_finite(path, payload["state_dict"])
    try:
        policy = _build_policy(metadata["architecture"], metadata["env_info"]).to(device)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(
            f"{path}: cannot rebuild the policy from its metadata ({first_line(error)})"
        ) from None
    try:
        policy.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as error:
        raise CheckpointError(
            f"{path}: weights do not fit the architecture in its metadata ({first_line(error)})"
        ) from None
    # An instance attribute: it shadows anything of that name on the class for this object.
    policy.checkpoint_metadata = metadata
    return policy


def check_finite(path: Path, state_dict: dict[str, Any]) -> None:
    """Refuse weights holding NaN or Inf: a policy built from them acts on garbage (every logit
    NaN) and a run resumed from them never recovers, so such a file is as unusable as a
    truncated one. Every load goes through `load_policy`, so this covers the policy store,
    initial_policy, resume and the evaluation tools alike."""
    for name, tensor in state_dict.items():
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            kind = "NaN" if bool(torch.isnan(tensor).any()) else "Inf"
            raise CheckpointError(f"{path}: weights contain {kind} (tensor {name!r}); the run diverged before this "
                                  "checkpoint: use an earlier one")


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata of a checkpoint: from its sidecar when that is readable, else from the `.pt`."""
    path = Path(path)
    side = sidecar_path(path)
    if side.is_file():
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(side.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("format") == FORMAT:
                return data
    return _read_payload(path, "cpu", mmap=True)["metadata"]


def _build_policy(architecture: dict[str, Any], env_info: dict[str, Any]) -> nn.Module:
    # Imported here so that listing checkpoints does not build the architecture table;
    # tests replace this function with a stand-in.
    from metta.agent.architectures import make_policy
    from metta.agent.env_info import PolicyEnvInfo

    return make_policy(architecture, PolicyEnvInfo.from_dict(env_info))


def _read_payload(path: Path, device: str | torch.device, mmap: bool = False) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        # mmap avoids reading every tensor when only the metadata is wanted.
        payload = torch.load(path, map_location=device, weights_only=True, mmap=mmap)
    except Exception as error:  # noqa: BLE001  (torch raises RuntimeError, UnpicklingError, EOFError, ...)
        raise CheckpointError(
            # torch's first sentence names the fault; the rest of its message is advice about pickles
            f"{path}: not a readable checkpoint (corrupt, truncated or pickled code: "
            f"{first_line(error).split('. ')[0]})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: not a {FORMAT} checkpoint (format: {found!r})")
    try:
        metadata = json.loads(payload["metadata_json"])
        assert isinstance(metadata, dict) and isinstance(payload["state_dict"], dict)
    except (KeyError, TypeError, ValueError, AssertionError):
        raise CheckpointError(f"{path}: {FORMAT} checkpoint with missing or malformed metadata") from None
    return {"state_dict": payload["state_dict"], "metadata": metadata}
