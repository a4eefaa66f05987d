"""Per-policy, per-evaluation statistics from one or more stats databases, and the report.

Who counts: every (episode, agent) pair in `agent_policies` is one agent-episode of that
agent's policy in that episode's simulation. The database stores a metric only where it is
non-zero, so a metric's mean, spread and interval are taken over *all* agent-episodes of the
group, the missing ones counting as 0.

An evaluation is named `<category>/<name>`: the simulation name when it already has a `/`,
otherwise the suite and the name (`navigation` + `emptyspace` -> `navigation/emptyspace`).
A category score is the plain mean of a policy's evaluation means in that category, each
evaluation weighing the same whatever its number of episodes.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from dataclasses import dataclass, field

from metta.eval.statistics import CONFIDENCE, Summary, difference_ci95
from mettagrid.errors import ConfigError

REPORT_FORMAT = "metta.analysis/1"

_POPULATION_SQL = """
SELECT DISTINCT ap.episode_id, ap.agent_id,
       coalesce(CAST(ap.policy_key AS VARCHAR), 'unknown') AS policy_key,
       coalesce(CAST(ap.policy_version AS VARCHAR), '') AS policy_version,
       CAST(s.name AS VARCHAR) AS sim_name,
       coalesce(CAST(s.suite AS VARCHAR), '') AS suite
FROM agent_policies ap
JOIN episodes e ON e.id = ap.episode_id
JOIN simulations s ON s.id = e.simulation_id
"""

_GROUPS_SQL = f"""
WITH population AS ({_POPULATION_SQL})
SELECT policy_key, policy_version, sim_name, suite,
       count(*) AS agent_episodes, count(DISTINCT episode_id) AS episodes
FROM population GROUP BY ALL
"""

# Only the stored (non-zero) values: their count, mean and squared deviations. The zeros the
# database left out are added back in Python, where shards from several files are merged.
# Our files keep the stored values in `agent_metric_values` (their `agent_metrics` view fills
# in the zeros, which would count the same but cost a row per metric and agent-episode);
# files with the spec's bare `agent_metrics` table are read from that.
_METRICS_SQL = """
WITH population AS ({population})
SELECT p.policy_key, p.policy_version, p.sim_name, p.suite, CAST(m.metric AS VARCHAR) AS metric,
       count(*) AS n, avg(m.value) AS mean, coalesce(var_pop(m.value), 0) * count(*) AS m2
FROM population p
JOIN {metrics_table} m ON m.episode_id = p.episode_id AND m.agent_id = p.agent_id
GROUP BY ALL
"""


@dataclass(frozen=True, order=True)
class PolicyRef:
    """A policy checkpoint: `policy_key` (the run, or a built-in policy's name) + version."""

    key: str
    version: str = ""

    @property
    def label(self) -> str:
        # Built-in policies are recorded with the version "builtin"; their name says it all.
        if self.version in ("", "builtin") or self.key.endswith(f":{self.version}"):
            return self.key
        version = f"v{self.version}" if self.version.isdigit() else self.version
        return f"{self.key}:{version}"

    @property
    def run(self) -> str:
        return run_name(self.key)

    def version_order(self) -> tuple[int, str]:
        digits = re.sub(r"\D", "", self.version)
        return (int(digits) if digits else -1, self.version)


@dataclass
class Cell:
    """One policy in one evaluation: its agent-episode count and the stored metric values."""

    episodes: int = 0
    agent_episodes: int = 0
    stored: dict[str, Summary] = field(default_factory=dict)

    def add(self, other: Cell) -> None:
        self.episodes += other.episodes
        self.agent_episodes += other.agent_episodes
        for metric, summary in other.stored.items():
            self.stored[metric] = self.stored.get(metric, Summary(0, 0.0, 0.0)).merged(summary)

    def metric(self, name: str) -> Summary:
        """The metric over every agent-episode, those without a stored value counting as 0."""
        stored = self.stored.get(name, Summary(0, 0.0, 0.0))
        return stored.merged(Summary.zeros(max(self.agent_episodes - stored.n, 0)))


@dataclass
class EvalTable:
    cells: dict[tuple[PolicyRef, str], Cell] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)  # evaluation -> category
    metrics: set[str] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)

    def policies(self) -> list[PolicyRef]:
        return sorted({policy for policy, _ in self.cells}, key=lambda p: (p.key, p.version_order()))

    def evaluations(self) -> list[str]:
        names = {evaluation for _, evaluation in self.cells}
        return sorted(names, key=lambda name: (self.categories[name], name))

    def summary(self, policy: PolicyRef, evaluation: str, metric: str) -> Summary | None:
        """None where the policy was not evaluated there (as opposed to scoring 0)."""
        cell = self.cells.get((policy, evaluation))
        return cell.metric(metric) if cell is not None else None

    def merge(self, other: EvalTable) -> None:
        for key, cell in other.cells.items():
            self.cells.setdefault(key, Cell()).add(cell)
        self.categories.update(other.categories)
        self.metrics |= other.metrics
        self.sources += other.sources

    def restricted(self, policies: set[PolicyRef] | None = None, metrics: set[str] | None = None) -> EvalTable:
        kept = {k: v for k, v in self.cells.items() if policies is None or k[0] in policies}
        used = {evaluation for _, evaluation in kept}
        return EvalTable(
            cells=kept,
            categories={e: c for e, c in self.categories.items() if e in used},
            metrics=self.metrics if metrics is None else set(metrics),
            sources=list(self.sources),
        )


def evaluation_name(sim_name: str, suite: str) -> str:
    return sim_name if "/" in sim_name or not suite else f"{suite}/{sim_name}"


def category_of(evaluation: str) -> str:
    return evaluation.split("/", 1)[0]


def read_table(connection, source: str) -> EvalTable:
    """The statistics of one open stats database."""
    table = EvalTable(sources=[source])
    for key, version, sim_name, suite, agent_episodes, episodes in connection.execute(_GROUPS_SQL).fetchall():
        evaluation = evaluation_name(sim_name, suite)
        table.categories[evaluation] = category_of(evaluation)
        table.cells[(PolicyRef(key, version), evaluation)] = Cell(episodes, agent_episodes)
    base_tables = {row[0] for row in connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()}
    metrics_table = "agent_metric_values" if "agent_metric_values" in base_tables else "agent_metrics"
    sql = _METRICS_SQL.format(population=_POPULATION_SQL, metrics_table=metrics_table)
    for key, version, sim_name, suite, metric, n, mean, m2 in connection.execute(sql).fetchall():
        cell = table.cells[(PolicyRef(key, version), evaluation_name(sim_name, suite))]
        cell.stored[metric] = Summary(int(n), float(mean), float(m2))
        table.metrics.add(metric)
    return table


def select_metrics(available: set[str], patterns: list[str] | None, always: str) -> set[str]:
    """Metrics matching any of `patterns` (exact names or globs like `action.*`), plus `always`.

    An exact name is kept even when no database stored it: a metric is stored only when
    non-zero, so one never stored is 0 everywhere, which is a result, not an absence."""
    if not patterns:
        return set(available) | {always}
    chosen = {m for m in available if any(fnmatch.fnmatchcase(m, p) for p in patterns)}
    exact = {p for p in patterns if not any(ch in p for ch in "*?[")}
    return chosen | exact | {always}


# -- choosing policies ---------------------------------------------------------------------------

_CHECKPOINT_RE = re.compile(r"^(?P<run>.+?):v?(?P<version>\d+)$")


def checkpoint_of(uri_or_key: str) -> tuple[str, str | None]:
    """(run name, version or None) named by a policy URI or a stored policy_key.

    `wandb://run/<run>[:vN]`, `wandb://<entity>/<project>/<artifact>[:vN]`, and paths or
    s3:// URIs to a run directory, its `checkpoints/` folder or one `<run>:v<N>.pt` file.
    """
    text = uri_or_key.strip().rstrip("/")
    text = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", text)
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if parts and parts[-1] == "checkpoints" and len(parts) > 1:
        parts.pop()
    last = parts[-1] if parts else text
    last = last.removesuffix(".pt")
    if last.endswith(":latest"):
        last = last.removesuffix(":latest")
    match = _CHECKPOINT_RE.match(last)
    return (match["run"], match["version"]) if match else (last, None)


def run_name(uri_or_key: str) -> str:
    return checkpoint_of(uri_or_key)[0]


def policies_of_uri(table: EvalTable, policy_uri: str) -> set[PolicyRef]:
    """The checkpoints in `table` of the run `policy_uri` names (one checkpoint if it names one)."""
    run, version = checkpoint_of(policy_uri)
    matches = {p for p in table.policies() if p.run == run}
    if version is not None:
        matches = {p for p in matches if p.version_order()[0] == int(version) or checkpoint_of(p.key)[1] == version}
    return matches


def policy_score(table: EvalTable, policy: PolicyRef, metric: str, main_metric: str) -> float | None:
    """What `policy_selector.metric` means: `score` is the mean over all evaluations of the main
    metric, `<category>_score` its category score, any other name a metric's mean over all
    evaluations. None when the policy has no evaluation to score."""
    evaluations = table.evaluations()
    if metric == "score":
        chosen, measured = evaluations, main_metric
    elif metric.endswith("_score") and metric.removesuffix("_score") in table.categories.values():
        category = metric.removesuffix("_score")
        chosen, measured = [e for e in evaluations if table.categories[e] == category], main_metric
    elif metric in table.metrics or metric == main_metric:
        chosen, measured = evaluations, metric
    else:
        known = sorted(table.metrics) + ["score"] + sorted(f"{c}_score" for c in set(table.categories.values()))
        raise ConfigError(f"analysis.policy_selector.metric: unknown metric {metric!r} (known: {', '.join(known)})")
    values = [s.mean for e in chosen if (s := table.summary(policy, e, measured)) is not None]
    return sum(values) / len(values) if values else None


def select_checkpoints(table: EvalTable, selector: str, metric: str, main_metric: str) -> set[PolicyRef]:
    """Per run: every checkpoint (`all`), the newest (`latest`) or the best by `metric` (`top`)."""
    by_run: dict[str, list[PolicyRef]] = {}
    for policy in table.policies():
        by_run.setdefault(policy.key, []).append(policy)
    if selector == "all":
        return {p for group in by_run.values() for p in group}
    if selector == "latest":
        return {max(group, key=PolicyRef.version_order) for group in by_run.values()}
    chosen = set()
    for group in by_run.values():
        scored = [(score, p) for p in group if (score := policy_score(table, p, metric, main_metric)) is not None]
        if scored:
            chosen.add(max(scored, key=lambda item: (item[0], item[1].version_order()))[1])
    return chosen


# -- the report ----------------------------------------------------------------------------------


def metric_stats(summary: Summary) -> dict:
    ci = summary.ci95()
    return {"mean": summary.mean, "std": summary.std, "n": summary.n, "ci95": list(ci) if ci else None}


def category_scores(table: EvalTable, policy: PolicyRef, metrics: list[str]) -> dict[str, dict[str, float]]:
    scores: dict[str, dict[str, float]] = {}
    for category in sorted(set(table.categories.values())):
        evaluations = [e for e in table.evaluations() if table.categories[e] == category]
        summaries = {
            m: [s.mean for e in evaluations if (s := table.summary(policy, e, m)) is not None] for m in metrics
        }
        if any(summaries.values()):
            scores[category] = {m: sum(v) / len(v) for m, v in summaries.items() if v}
    return scores


def comparison(table: EvalTable, ranked: list[PolicyRef], metric: str) -> dict:
    """Per evaluation: the best policy by `metric` and every other one's difference to it."""
    result = {}
    for evaluation in table.evaluations():
        present = [(p, s) for p in ranked if (s := table.summary(p, evaluation, metric)) is not None]
        if len(present) < 2:
            continue
        best, best_summary = max(present, key=lambda item: item[1].mean)
        versus = {}
        for policy, summary in present:
            if policy == best:
                continue
            diff, ci = difference_ci95(summary, best_summary)
            versus[policy.label] = {
                "diff": diff,
                "ci95": list(ci) if ci else None,
                "ci_excludes_zero": bool(ci and (ci[1] < 0 or ci[0] > 0)),
            }
        result[evaluation] = {"best": best.label, "vs_best": versus}
    return result


def build_report(
    table: EvalTable,
    main_metric: str = "reward",
    rank_metric: str = "score",
    selector: str = "all",
    title: str | None = None,
) -> dict:
    """The report as plain JSON-ready data; docs/analysis.md describes every key."""
    if not table.cells:
        raise ConfigError("analysis: no agent-episodes to report (empty database, or every policy filtered out)")
    metrics = [main_metric] + sorted(table.metrics - {main_metric})
    scores = {p: policy_score(table, p, rank_metric, main_metric) for p in table.policies()}
    ranked = sorted(scores, key=lambda p: (scores[p] is None, -(scores[p] or 0.0), p.key, p.version_order()))
    evaluations = table.evaluations()
    results = []
    for policy in ranked:
        for evaluation in evaluations:
            cell = table.cells.get((policy, evaluation))
            if cell is None:
                continue
            results.append({
                "policy": policy.label,
                "evaluation": evaluation,
                "episodes": cell.episodes,
                "agent_episodes": cell.agent_episodes,
                "metrics": {m: metric_stats(cell.metric(m)) for m in metrics},
            })
    return {
        "format": REPORT_FORMAT,
        "title": title or "Policy evaluation report",
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "sources": table.sources,
        "confidence": {
            "level": CONFIDENCE,
            "method": "student-t: mean +- t(0.975, n-1) * std / sqrt(n), std with n-1; null when n < 2",
        },
        "main_metric": main_metric,
        "selector": {"type": selector, "metric": rank_metric},
        "metrics": metrics,
        "policies": [
            {"id": p.label, "policy_key": p.key, "policy_version": p.version or None, "rank": i + 1, "score": scores[p]}
            for i, p in enumerate(ranked)
        ],
        "evaluations": [{"id": e, "category": table.categories[e]} for e in evaluations],
        "results": results,
        "categories": {p.label: category_scores(table, p, metrics) for p in ranked},
        "comparison": comparison(table, ranked, main_metric),
    }


def load_table(uris: list[str], key: str, cache_dir: str | None = None) -> EvalTable:
    """The merged statistics of every database in `uris`; any unreadable one is a ConfigError."""
    import duckdb

    from metta.common.uri import first_line
    from metta.eval.storage import local_stats_db, open_stats_db

    if not uris:
        raise ConfigError(f"{key}: no stats database given (e.g. {key}=./eval.duckdb or s3://bucket/eval.duckdb)")
    table = EvalTable()
    for uri in uris:
        connection = open_stats_db(local_stats_db(uri, key, cache_dir), uri, key)
        try:
            table.merge(read_table(connection, uri))
        except duckdb.Error as error:
            raise ConfigError(f"{key}: {uri}: not a stats database ({first_line(error, 120)})") from None
        finally:
            connection.close()
    return table
