"""What a reference document assumes already exists when a line runs: trained checkpoints,
files a user would have written, objects in a bucket.

Checkpoints are real policies (the `fast` architecture, untrained) saved by the project's own
policy format for a real environment, so every loader on the way reads them as it would a
trained one. They are written by a Python process in the sandbox, with its code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.reference.runner import Sandbox

_SAVE_CHECKPOINTS = """
import json, sys
from pathlib import Path
from metta.agent.architectures import make_policy
from metta.agent.env_info import PolicyEnvInfo
from metta.agent.policy_file import save_policy
from mettagrid.env_configs import compose_env_config
from mettagrid.vec_env import MettaGridVecEnv

infos = {}
for path, env_name in json.loads(sys.argv[1]):
    if env_name not in infos:
        env = MettaGridVecEnv(compose_env_config(env_name))
        infos[env_name] = PolicyEnvInfo.from_vec_env(env)
        env.close()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_policy(path, make_policy({"name": "fast"}, infos[env_name]), {"agent_steps": 0})
"""


@dataclass
class Given:
    """Files and checkpoints a document's lines expect. Paths are relative to the sandbox;
    `s3://` paths are uploaded to the local S3 server."""

    checkpoints: dict[str, str] = field(default_factory=dict)  # path -> env name
    files: dict[str, str] = field(default_factory=dict)  # path -> text
    buckets: set[str] = field(default_factory=set)  # S3 buckets a line writes to without naming them
    # Local stand-ins for hosted services, started last and stopped with the sandbox:
    # (command line, address that answers once it is up).
    services: list[tuple[str, str]] = field(default_factory=list)

    def make(self, sandbox: Sandbox) -> None:
        for relative, text in self.files.items():
            path = sandbox.path(relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self._make_checkpoints(sandbox)
        for command, address in self.services:
            sandbox.start_service(command, address)

    def _make_checkpoints(self, sandbox: Sandbox) -> None:
        if not self.checkpoints:
            return
        staged = sandbox.root.parent / f"{sandbox.root.name}-s3"
        jobs = []
        for target, env_name in self.checkpoints.items():
            local = staged / target.removeprefix("s3://") if target.startswith("s3://") else sandbox.path(target)
            jobs.append((str(local), env_name))
        done = subprocess.run([sys.executable, "-c", _SAVE_CHECKPOINTS, json.dumps(jobs)], cwd=sandbox.root,
                              env=sandbox.env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the given checkpoints could not be written:\n{done.stderr}")
        for target in self.checkpoints:
            if target.startswith("s3://"):
                upload(sandbox, staged / target.removeprefix("s3://"), target)


def upload(sandbox: Sandbox, local: Path, uri: str) -> None:
    """Put a file and its metadata sidecar (if any) at `uri` on the local S3 server."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    client = s3_client(sandbox)
    client.upload_file(str(local), bucket, key)
    sidecar = local.with_suffix(".json")  # the metadata copy the policy format writes beside it
    if sidecar.exists():
        client.upload_file(str(sidecar), bucket, str(Path(key).with_suffix(".json")))


def make_buckets(sandbox: Sandbox, names: set[str]) -> None:
    client = s3_client(sandbox)
    for name in sorted(names):
        client.create_bucket(Bucket=name)


def s3_client(sandbox: Sandbox):
    """A client for the sandbox's S3 server, with the sandbox's (dummy) credentials."""
    import boto3

    env = sandbox.env
    session = boto3.session.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                    region_name=env["AWS_DEFAULT_REGION"])
    return session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
