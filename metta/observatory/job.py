"""`tools/observatory.py`: its settings, and serving until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from mettagrid.errors import ConfigError


class ObservatoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    train_dirs: list[str] = Field(["train_dir"], description="Directories of runs (<dir>/<run>/metrics.jsonl); "
                                  "the first is where launched runs go")
    eval_db_uris: list[str] = Field(default_factory=list, description="Extra stats DBs for the evaluation browser "
                                    "(path or s3://); those recorded under train_dirs are found by themselves")
    main_metric: str = Field("reward", description="Metric that ranks policies and scores checkpoints")
    state_dir: str | None = Field(None, description="Where the job queue keeps jobs, logs and evaluation DBs; "
                                  "null = <first train dir>/observatory")
    port: int = Field(8050, ge=0, le=65535, description="Port on 127.0.0.1; 0 = any free port")
    cache_dir: str | None = Field(None, description="Where remote (s3://) databases are downloaded")


def serve(job: ObservatoryConfig) -> None:
    from metta.observatory.server import Observatory, make_server

    train_dirs = [Path(d).expanduser() for d in job.train_dirs]
    if not train_dirs:
        raise ConfigError("observatory.train_dirs: give at least one directory (e.g. [train_dir])")
    for index, train_dir in enumerate(train_dirs):
        if train_dir.exists() and not train_dir.is_dir():
            raise ConfigError(f"observatory.train_dirs[{index}]: {train_dir} is a file, not a directory of runs")
    try:
        train_dirs[0].mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"observatory.train_dirs[0]: cannot create {train_dirs[0]} "
                          f"({error.strerror or error})") from None
    state_dir = Path(job.state_dir).expanduser() if job.state_dir else train_dirs[0] / "observatory"
    app = Observatory(train_dirs, state_dir, job.main_metric, job.eval_db_uris, job.cache_dir)
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


def main(cfg) -> None:
    """tools/observatory.py."""
    from metta.common.tool import validate_job

    serve(validate_job(cfg, "observatory_job")["observatory"])
