"""Evaluation data for the pages: the scorecard of any stats DBs, and a run's checkpoint scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from metta.eval.analysis import EvalTable, category_scores, comparison, load_table, policy_score
from metta.eval.dashboard import build_dashboard
from metta.sim.eval_index import record_db_uri, recorded_evaluations


def known_dbs(train_dirs: list[Path], jobs: list[dict[str, Any]]) -> list[str]:
    """Every stats DB tools/sim.py recorded under the train dirs, and those of finished
    evaluation jobs of this Observatory, newest first, each once."""
    found = [job["meta"]["stats_db"] for job in jobs
             if job["kind"] == "evaluate" and job["status"] == "done" and Path(job["meta"]["stats_db"]).is_file()]
    for train_dir in train_dirs:
        found += [uri for record in recorded_evaluations(train_dir) if (uri := record_db_uri(record))]
    return list(dict.fromkeys(found))


def scorecard(uris: list[str], main_metric: str, cache_dir: str | None) -> dict[str, Any]:
    """Policies x evaluations (mean, 95% CI), per-category and overall columns, and each
    cell's difference to the best policy of that evaluation with its significance."""
    table = load_table(uris, "observatory.eval_db_uris", cache_dir)
    card = build_dashboard(table, {}, main_metric)
    by_label = {p.label: p for p in table.policies()}
    metric = main_metric  # always a column: a metric that was 0 everywhere is stored as no rows, still 0
    card["categories"] = sorted(set(table.categories.values()))
    card["category_scores"] = {label: {c: s.get(metric) for c, s in category_scores(table, p, [metric]).items()}
                               for label, p in by_label.items()}
    ranked = [by_label[p["id"]] for p in card["policies"]]
    card["vs_best"] = comparison(table, ranked, metric)
    card["metric"] = metric
    card.pop("training", None)
    return card


def checkpoint_scores(table: EvalTable, run: str, main_metric: str) -> dict[int, dict[str, Any]]:
    """version -> {"score", "evaluations": {evaluation: mean}} for this run's policies in `table`."""
    out: dict[int, dict[str, Any]] = {}
    for policy in table.policies():
        version = policy.version_order()[0]
        if policy.run != run or version < 0:
            continue
        evaluations = {e: s.mean for e in table.evaluations() if (s := table.summary(policy, e, main_metric))}
        out[version] = {"score": policy_score(table, policy, "score", main_metric),
                                    "evaluations": evaluations}
    return out


def safe_table(uris: list[str], cache_dir: str | None) -> EvalTable:
    """The merged table of whichever DBs can be read (one bad DB must not hide the others)."""
    from mettagrid.errors import ConfigError

    table = EvalTable()
    for uri in uris:
        try:
            table.merge(load_table([uri], "observatory.eval_db_uris", cache_dir))
        except ConfigError:
            continue
    return table
