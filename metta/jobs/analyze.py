"""`tools/analyze.py`: statistics over stats databases, written as JSON and an HTML page."""

from __future__ import annotations

import json
import sys
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from metta.common.uri import join_destination, write_output
from metta.eval.analysis import (
    build_report,
    checkpoint_of,
    load_table,
    policies_of_uri,
    select_checkpoints,
    select_metrics,
)
from metta.eval.report_html import render_report
from mettagrid.errors import ConfigError

REPORT_JSON, REPORT_HTML = "report.json", "report.html"


class PolicySelectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["all", "latest", "top"] = Field(
        "all", description="Checkpoints kept per policy: all, the latest, or the top one by `metric`"
    )
    metric: str = Field(
        "score",
        description="Ranks policies (and picks `top`): score (mean of main_metric over all evaluations), "
        "<category>_score (e.g. navigation_score), or any metric name",
    )


class AnalysisConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    eval_db_uri: str | list[str] | None = Field(
        None, description="Stats DB(s): path, file://, s3://, wandb://; null = the evaluations recorded in "
        "<train_dir>/evaluations.jsonl (of policy_uri's run, else the latest)")
    output_path: str = Field("./analysis_report/", description="Directory or s3:// prefix for report.{json,html}")
    policy_uri: str | None = Field(None, description="Only this policy's checkpoints (matched by run name)")
    policy_selector: PolicySelectorConfig = Field(default_factory=PolicySelectorConfig)
    metrics: list[str] | None = Field(None, description="Metric names or globs to report; null = all")
    main_metric: str = Field("reward", description="Metric of the heatmap and of the scores")
    title: str | None = None
    cache_dir: str | None = Field(None, description="Where remote databases are downloaded")
    train_dir: str = Field("train_dir", description="Whose evaluations.jsonl is read when eval_db_uri is null")
    suite: str | None = Field(None, description="With eval_db_uri null: only evaluations of this suite")

    def db_uris(self) -> list[str]:
        if self.eval_db_uri is None:
            return []
        return [self.eval_db_uri] if isinstance(self.eval_db_uri, str) else list(self.eval_db_uri)


def recorded_db_uris(job: AnalysisConfig) -> list[str]:
    """The stats DBs of the evaluations `tools/sim.py` recorded: every one that evaluated the
    run `policy_uri` names, or else the latest (of `suite`, when given)."""
    from metta.sim.eval_index import INDEX_NAME, record_db_uri, recorded_evaluations

    records = recorded_evaluations(job.train_dir)
    if job.suite:
        records = [r for r in records if r.get("suite") == job.suite]
    where = f"{job.train_dir}/{INDEX_NAME}" + (f" (suite {job.suite})" if job.suite else "")
    if job.policy_uri:
        run = checkpoint_of(job.policy_uri)[0]
        records = [r for r in records if any(checkpoint_of(key)[0] == run for key, _ in r["policies"])]
        if not records:
            raise ConfigError(
                f"analysis.eval_db_uri: not given, and {where} records no evaluation of {run!r} (evaluate it "
                f"first: ./tools/sim.py sim_job.policy_uris='[\"{job.policy_uri}\"]', or give analysis.eval_db_uri=)")
    elif records:
        records = records[:1]
    else:
        raise ConfigError(f"analysis.eval_db_uri: not given, and {where} records no evaluation (run ./tools/sim.py "
                          "first, or give analysis.eval_db_uri=PATH|s3://...)")
    return list(dict.fromkeys(uri for r in records if (uri := record_db_uri(r))))


def run_analysis(job: AnalysisConfig) -> dict:
    """Build the report and write it; returns the report with `written` (where each file went)."""
    uris = job.db_uris()
    if job.eval_db_uri is None:
        uris = recorded_db_uris(job)
        print(f"analysis: reading {', '.join(uris)} (recorded in {job.train_dir}/evaluations.jsonl)", file=sys.stderr)
    table = load_table(uris, "analysis.eval_db_uri", job.cache_dir)
    if job.policy_uri:
        policies = policies_of_uri(table, job.policy_uri)
        if not policies:
            known = ", ".join(sorted({p.run for p in table.policies()}))
            raise ConfigError(f"analysis.policy_uri: {job.policy_uri}: no such policy in the database (has: {known})")
        table = table.restricted(policies=policies)
    selector = job.policy_selector
    chosen = select_checkpoints(table, selector.type, selector.metric, job.main_metric)
    metrics = select_metrics(table.metrics, job.metrics, job.main_metric)
    if selector.metric in table.metrics:  # the ranking metric stays, whatever the filter
        metrics.add(selector.metric)
    table = table.restricted(policies=chosen, metrics=metrics)
    report = build_report(table, job.main_metric, selector.metric, selector.type, job.title)
    html = render_report(report)
    data = json.dumps(report, indent=1).encode()
    written = {
        "json": write_output(join_destination(job.output_path, REPORT_JSON), data, "analysis.output_path",
                             "application/json"),
        "html": write_output(join_destination(job.output_path, REPORT_HTML), html.encode(), "analysis.output_path",
                             "text/html; charset=utf-8"),
    }
    return {**report, "written": written}


def summary_lines(report: dict) -> list[str]:
    lines = [f"report: {report['written']['html']}", f"data:   {report['written']['json']}"]
    metric = report["selector"]["metric"]
    for policy in report["policies"]:
        score = "n/a" if policy["score"] is None else f"{policy['score']:.4g}"
        lines.append(f"  {policy['rank']:>2}. {policy['id']}  {metric} {score}")
    return lines


def main(cfg) -> None:
    """tools/analyze.py: write the report, print its summary."""
    from metta.common.tool import validate_job

    print("\n".join(summary_lines(run_analysis(validate_job(cfg, "analyze_job")["analysis"]))))
