"""`tools/observatory.py`: its settings, and serving until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from metta.common.uri import local_path, parse_s3_uri, uri_scheme
from mettagrid.errors import ConfigError


class ObservatoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    train_dirs: list[str] = Field(["train_dir"], description="Directories of runs (<dir>/<run>/metrics.jsonl), "
                                  "local or s3://bucket/prefix; the first local one is where launched runs go")
    eval_db_uris: list[str] = Field(default_factory=list, description="Extra stats DBs for the evaluation browser "
                                    "(path or s3://); those recorded under train_dirs are found by themselves")
    main_metric: str = Field("reward", description="Metric that ranks policies and scores checkpoints")
    state_dir: str | None = Field(None, description="Where the job queue keeps jobs, logs and evaluation DBs; "
                                  "null = <first train dir>/observatory")
    port: int = Field(8050, ge=0, le=65535, description="Port on 127.0.0.1; 0 = any free port")
    cache_dir: str | None = Field(None, description="Where remote (s3://) databases are downloaded")


def serve(job: ObservatoryConfig) -> None:
    from metta.observatory.server import Observatory, make_server

    train_dirs, s3_train_dirs = split_train_dirs(job.train_dirs)
    try:
        train_dirs[0].mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"observatory.train_dirs[0]: cannot create {train_dirs[0]} "
                          f"({error.strerror or error})") from None
    state_dir = Path(job.state_dir).expanduser() if job.state_dir else train_dirs[0] / "observatory"
    app = Observatory(train_dirs, state_dir, job.main_metric, job.eval_db_uris, job.cache_dir, s3_train_dirs)
    try:
        server = make_server(app, job.port)
    except OSError as error:
        app.close()
        raise ConfigError(f"observatory.port: cannot listen on 127.0.0.1:{job.port} "
                          f"({error.strerror or error})") from None
    host, port = server.server_address[:2]
    print(f"observatory: http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.close()


def split_train_dirs(entries: list[str]) -> tuple[list[Path], list[str]]:
    """(local directories, s3:// prefixes); launched runs and the job queue need a local one."""
    local, remote = [], []
    for index, entry in enumerate(entries):
        scheme = uri_scheme(entry)
        if scheme == "s3":
            try:
                parse_s3_uri(entry)
            except ValueError as error:
                raise ConfigError(f"observatory.train_dirs[{index}]: {error}") from None
            remote.append(entry)
        elif scheme == "file":
            path = local_path(entry)
            if path.exists() and not path.is_dir():
                raise ConfigError(f"observatory.train_dirs[{index}]: {path} is a file, not a directory of runs")
            local.append(path)
        else:
            raise ConfigError(f"observatory.train_dirs[{index}]: {entry}: unknown URI scheme {scheme!r} "
                              "(use a local directory or s3://bucket/prefix)")
    if not local:
        raise ConfigError("observatory.train_dirs: give at least one local directory (e.g. [train_dir, "
                          "s3://bucket/runs]); launched runs and evaluations are written there")
    return local, remote


def main(cfg) -> None:
    """tools/observatory.py."""
    from metta.common.tool import validate_job

    serve(validate_job(cfg, "observatory_job")["observatory"])
