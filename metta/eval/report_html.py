"""The analysis report as one self-contained HTML page: inline CSS, SVG and one small inline
script (the hover readout), no fonts or files from elsewhere, so it opens from a laptop, an S3
bucket or an email alike.

Top: an index of every chart, then a policy x evaluation heatmap of the main metric (the number
printed in each cell, colour from low to high, the best policy per evaluation starred and the
ones whose "vs best" 95% interval excludes zero marked), with category scores beside it.
Below: one bar chart per metric, as wide as its card, y from 0, with 95% interval whiskers, a
readout of the bar under the pointer, and the exact numbers folded under each chart. Every
number goes through `fmt`.
"""

from __future__ import annotations

import math
from html import escape

# A light-to-dark sequential ramp: light cells are low, dark cells are high.
HEAT_RAMP = ("#fbf3dc", "#d9ecb8", "#9fd4a9", "#5db5a6", "#2f8ca0", "#24638f", "#1f3d6e")
# Distinct colours for policies in the bar charts; they cycle after eight policies.
POLICY_COLOURS = ("#3b6fb6", "#e08a2c", "#4a9d5b", "#c8474f", "#8a63b8", "#8c6d4f", "#d16fb2", "#6f7a86")

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 24px 32px; color: #1d2430; background: #f6f7f9; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px; }
.meta { color: #5a6473; font-size: 12.5px; }
.panel { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 14px 16px; overflow-x: auto; }
table.heat { border-collapse: separate; border-spacing: 2px; }
table.heat th { font-weight: 600; font-size: 12px; color: #3b4452; padding: 4px 6px; white-space: nowrap; }
table.heat th.policy { text-align: left; } table.heat th.group { border-bottom: 2px solid #c9ced6; }
table.heat td { text-align: center; padding: 7px 9px; border-radius: 4px; min-width: 54px;
                font-variant-numeric: tabular-nums; font-size: 13px; }
td.missing { color: #9aa3af; background: #eef0f3; }
td.score-cell { font-weight: 600; }
.gap { width: 10px; }
.legend { display: flex; align-items: center; gap: 8px; margin-top: 10px; font-size: 12px; color: #5a6473; }
.legend .bar { width: 220px; height: 10px; border-radius: 5px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 16px; }
.chart.wide { grid-column: 1 / -1; }
.chart svg { display: block; width: 100%; height: auto; }
.readout { min-height: 1.4em; font-size: 12px; color: #1d2430; font-variant-numeric: tabular-nums; }
nav.toc ol { columns: 3 220px; margin: 6px 0 0; padding-left: 22px; font-size: 12.5px; }
nav.toc a { color: #3b6fb6; text-decoration: none; } nav.toc a:hover { text-decoration: underline; }
.sig { font-size: 10px; margin-left: 3px; vertical-align: super; }
.chart h3 { font-size: 14px; margin: 0 0 6px; font-family: ui-monospace, Menlo, Consolas, monospace; }
.chart svg text { font: 11px system-ui, sans-serif; fill: #3b4452; }
.keys { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; margin: 0 0 12px; }
.keys span::before { content: ""; display: inline-block; width: 10px; height: 10px; border-radius: 2px;
                     margin-right: 5px; background: var(--c); vertical-align: -1px; }
details { margin-top: 6px; font-size: 12px; } summary { cursor: pointer; color: #3b6fb6; }
table.nums { border-collapse: collapse; margin-top: 6px; font-variant-numeric: tabular-nums; }
table.nums td, table.nums th { padding: 2px 8px; border-bottom: 1px solid #eceef2; text-align: right; }
table.nums td:first-child, table.nums td:nth-child(2), table.nums th:first-child { text-align: left; }
"""


def fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if 0 < magnitude < 0.01:
        return f"{value:.1e}"
    return f"{value:.2f}"


def heat_colour(value: float, low: float, high: float) -> str:
    """The ramp colour for `value` on the [low, high] scale, linearly interpolated."""
    position = 0.5 if high <= low else min(max((value - low) / (high - low), 0.0), 1.0)
    scaled = position * (len(HEAT_RAMP) - 1)
    index = min(int(scaled), len(HEAT_RAMP) - 2)
    a, b = _rgb(HEAT_RAMP[index]), _rgb(HEAT_RAMP[index + 1])
    t = scaled - index
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b))


def text_colour(background: str) -> str:
    r, g, b = _rgb(background)
    return "#ffffff" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 140 else "#1d2430"


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def render_report(report: dict) -> str:
    lookup = {(r["policy"], r["evaluation"]): r for r in report["results"]}
    policies = [p["id"] for p in report["policies"]]
    colours = {p: POLICY_COLOURS[i % len(POLICY_COLOURS)] for i, p in enumerate(policies)}
    sources = ", ".join(escape(s) for s in report["sources"])
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{escape(report['title'])}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(report['title'])}</h1>",
        (f"<div class='meta'>{len(policies)} policies · {len(report['evaluations'])} evaluations · "
         f"from {sources} · generated {escape(report['generated_at'])}</div>"),
        table_of_contents(report),
        f"<h2 id='heatmap'>Mean {escape(report['main_metric'])} per policy and evaluation</h2>",
        "<div class='panel'>",
        heatmap(report, lookup),
        "</div>",
        "<h2>Metrics</h2>",
        ("<p class='meta'>Bars are means over agent-episodes (a metric not recorded counts as 0); "
         "whiskers are 95% Student-t intervals of the mean (clipped at 0 for metrics that are never negative). "
         "Hover a bar for its numbers.</p>"),
        "<div class='keys'>"
        + "".join(f"<span style='--c:{colours[p]}'>{escape(p)}</span>" for p in policies)
        + "</div>",
        "<div class='charts'>",
        *(metric_card(report, metric, lookup, colours) for metric in report["metrics"]),
        "</div>",
        f"<p class='meta'>Intervals: {escape(report['confidence']['method'])}.</p>",
        f"<script>{READOUT_JS}</script>",
        "</body></html>",
    ]
    return "\n".join(parts)


# Hovering a bar writes its numbers under the chart (a <title> tooltip alone waits a second and
# cannot be read in a screenshot). Inline, so the page still loads nothing from elsewhere.
READOUT_JS = """
document.querySelectorAll('.chart').forEach((card) => {
  const out = card.querySelector('.readout');
  card.querySelectorAll('rect[data-readout]').forEach((bar) => {
    bar.addEventListener('mouseenter', () => { out.textContent = bar.dataset.readout; });
  });
});
"""


def anchor(metric: str) -> str:
    return "metric-" + "".join(ch if ch.isalnum() else "-" for ch in metric)


def table_of_contents(report: dict) -> str:
    items = [f"<li><a href='#heatmap'>{escape(report['main_metric'])} heatmap</a></li>"]
    items += [f"<li><a href='#{anchor(m)}'>{escape(m)}</a></li>" for m in report["metrics"]]
    return f"<nav class='toc panel'><strong>Contents</strong><ol>{''.join(items)}</ol></nav>"


def significance_mark(report: dict, policy: str, evaluation: str) -> tuple[str, str]:
    """(mark, explanation) of a heatmap cell from the report's "vs best" comparison: ★ the
    best policy there, ▼ its 95% interval of the difference to the best excludes zero, else
    nothing (not distinguishable from the best at this sample size)."""
    entry = report.get("comparison", {}).get(evaluation)
    if entry is None:
        return "", ""
    if entry["best"] == policy:
        return "★", "best on this evaluation"
    versus = entry["vs_best"].get(policy)
    if versus is None:
        return "", ""
    ci = versus["ci95"]
    text = f"vs best {fmt(versus['diff'])}" + (f" (95% CI {fmt(ci[0])} to {fmt(ci[1])})" if ci else "")
    if versus["ci_excludes_zero"]:
        return "▼", text + ", significantly below the best"
    return "", text + ", not significantly different"


def heatmap(report: dict, lookup: dict) -> str:
    metric = report["main_metric"]
    evaluations = report["evaluations"]
    categories = list(dict.fromkeys(e["category"] for e in evaluations))
    values = [r["metrics"][metric]["mean"] for r in report["results"]]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    # Row 1: category groups; row 2: evaluation names (without the repeated category).
    head1 = ["<tr><th></th>"]
    for category in categories:
        span = sum(1 for e in evaluations if e["category"] == category)
        head1.append(f"<th class='group' colspan='{span}'>{escape(category)}</th>")
    head1.append(f"<th class='gap'></th><th class='group' colspan='{len(categories) + 1}'>scores</th></tr>")
    head2 = ["<tr><th class='policy'>policy</th>"]
    for e in evaluations:
        short = e["id"].split("/", 1)[1] if "/" in e["id"] else e["id"]
        head2.append(f"<th title='{escape(e['id'])}'>{escape(short)}</th>")
    head2.append("<th class='gap'></th>")
    head2 += [f"<th>{escape(c)}</th>" for c in categories] + ["<th>overall</th></tr>"]

    rows = []
    for policy in report["policies"]:
        pid = policy["id"]
        row = [f"<tr><th class='policy'>{escape(pid)}</th>"]
        for e in evaluations:
            result = lookup.get((pid, e["id"]))
            if result is None:
                row.append(f"<td class='missing' title='{escape(pid)} was not evaluated on {escape(e['id'])}'>–</td>")
                continue
            stats = result["metrics"][metric]
            background = heat_colour(stats["mean"], low, high)
            ci = stats["ci95"]
            tip = (f"{pid} on {e['id']}: {metric} {fmt(stats['mean'])}"
                   + (f" (95% CI {fmt(ci[0])} to {fmt(ci[1])})" if ci else "")
                   + f", {result['agent_episodes']} agent-episodes in {result['episodes']} episodes")
            mark, why = significance_mark(report, pid, e["id"])
            if why:
                tip += f"; {why}"
            mark_html = f"<span class='sig' data-mark='{mark}'>{mark}</span>" if mark else ""
            row.append(
                f"<td class='cell' data-policy='{escape(pid)}' data-eval='{escape(e['id'])}' "
                f"data-value='{stats['mean']!r}' title='{escape(tip)}' "
                f"style='background:{background};color:{text_colour(background)}'>{fmt(stats['mean'])}{mark_html}</td>"
            )
        row.append("<td class='gap'></td>")
        scores = report["categories"].get(pid, {})
        category_values = [scores.get(c, {}).get(metric) for c in categories]
        means = [r["metrics"][metric]["mean"] for e in evaluations if (r := lookup.get((pid, e["id"])))]
        for value in category_values + [sum(means) / len(means) if means else None]:
            if value is None:
                row.append("<td class='score-cell missing'>–</td>")
            else:
                background = heat_colour(value, low, high)
                row.append(f"<td class='score-cell' style='background:{background};"
                           f"color:{text_colour(background)}'>{fmt(value)}</td>")
        rows.append("".join(row) + "</tr>")
    legend = (
        f"<div class='legend'>{fmt(low)}<div class='bar' style='background:linear-gradient(90deg,"
        f"{','.join(HEAT_RAMP)})'></div>{fmt(high)}<span>· category score = mean of its evaluations; "
        f"overall = mean of all its evaluations · "
        f"★ best on that evaluation, ▼ below the best (95% interval of the difference excludes 0)</span></div>"
    )
    return (f"<table class='heat'><thead>{''.join(head1)}{''.join(head2)}</thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{legend}")


def metric_card(report: dict, metric: str, lookup: dict, colours: dict) -> str:
    policies = [p["id"] for p in report["policies"]]
    evaluations = [e["id"] for e in report["evaluations"]]
    rows = []
    for e in evaluations:
        for p in policies:
            result = lookup.get((p, e))
            if result is None:
                continue
            s = result["metrics"][metric]
            ci = f"{fmt(s['ci95'][0])} – {fmt(s['ci95'][1])}" if s["ci95"] else "–"
            rows.append(f"<tr><td>{escape(e)}</td><td>{escape(p)}</td><td>{fmt(s['mean'])}</td>"
                        f"<td>{fmt(s['std'])}</td><td>{ci}</td><td>{s['n']}</td></tr>")
    chart = bar_chart(metric, evaluations, policies, lookup, colours)
    # A chart wider than half a page takes a whole row rather than a scroll bar.
    wide = " wide" if int(chart.split("width='", 1)[1].split("'", 1)[0]) > 520 else ""
    return (
        f"<div class='panel chart{wide}' id='{anchor(metric)}'><h3>{escape(metric)}</h3>"
        f"{chart}<div class='readout'></div>"
        "<details><summary>numbers</summary><table class='nums'><tr><th>evaluation</th><th>policy</th>"
        "<th>mean</th><th>std</th><th>95% CI</th><th>n</th></tr>"
        f"{''.join(rows)}</table></details></div>"
    )


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering [low, high]."""
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def tick_label(value: float, ticks: list[float]) -> str:
    """As many decimals as the tick step needs (0, 5, 10 rather than 0.00, 5.00, 10.0)."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return f"{value:,.{decimals}f}"


def bar_chart(metric: str, evaluations: list[str], policies: list[str], lookup: dict, colours: dict) -> str:
    bar = max(6, min(18, 120 // max(len(policies), 1)))
    # Groups widen to fill at least a card's width, so two evaluations do not make a thin chart.
    group_width = max(bar * len(policies) + 16, 380 // max(len(evaluations), 1))
    left, top, plot_height, bottom = 52, 10, 170, 96
    width = left + group_width * len(evaluations) + 10
    stats = [(e, p, lookup[(p, e)]["metrics"][metric]) for e in evaluations for p in policies if (p, e) in lookup]
    # A metric whose means are all >= 0 (counts, rewards of these games) keeps its axis at 0: a
    # Student-t whisker below 0 is clipped there rather than stretching the axis negative.
    non_negative = all(s["mean"] >= 0 for _, _, s in stats)
    extremes = [0.0]
    for _, _, s in stats:
        extremes += [s["mean"]] + (list(s["ci95"]) if s["ci95"] else [])
    if non_negative:
        extremes = [max(v, 0.0) for v in extremes]
    ticks = nice_ticks(min(extremes), max(extremes) if max(extremes) > min(extremes) else min(extremes) + 1)
    low, high = ticks[0], ticks[-1]

    def y(value: float) -> float:
        return top + plot_height * (high - value) / (high - low)

    height = top + plot_height + bottom
    out = [(f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(metric)} by evaluation and policy'>")]
    for tick in ticks:
        out.append(f"<line x1='{left}' x2='{width - 6}' y1='{y(tick):.1f}' y2='{y(tick):.1f}' "
                   f"stroke='{'#9aa3af' if tick == 0 else '#e6e9ee'}'/>")
        out.append(f"<text x='{left - 6}' y='{y(tick) + 4:.1f}' text-anchor='end'>{tick_label(tick, ticks)}</text>")
    for gi, evaluation in enumerate(evaluations):
        x0 = left + gi * group_width + (group_width - bar * len(policies)) / 2
        for pi, policy in enumerate(policies):
            result = lookup.get((policy, evaluation))
            if result is None:
                continue
            s = result["metrics"][metric]
            x = x0 + pi * bar
            y_mean, y_zero = y(s["mean"]), y(0.0)
            tip = f"{policy} · {evaluation}: {fmt(s['mean'])} (std {fmt(s['std'])}, n {s['n']})"
            ci = s["ci95"]
            readout = f"{policy} · {evaluation}: {fmt(s['mean'])}" + (
                f" (95% CI {fmt(ci[0])} to {fmt(ci[1])})" if ci else "") + f", n {s['n']}"
            out.append(f"<rect x='{x:.1f}' y='{min(y_mean, y_zero):.1f}' width='{bar - 2}' "
                       f"height='{max(abs(y_zero - y_mean), 0.5):.1f}' fill='{colours[policy]}' rx='1.5' "
                       f"data-value='{s['mean']!r}' data-readout='{escape(readout)}'>"
                       f"<title>{escape(tip)}</title></rect>")
            if s["ci95"]:
                cx = x + (bar - 2) / 2
                lo, hi = y(max(s["ci95"][0], low)), y(min(s["ci95"][1], high))
                out.append(f"<path d='M{cx:.1f},{lo:.1f}V{hi:.1f}M{cx - 3:.1f},{lo:.1f}h6M{cx - 3:.1f},{hi:.1f}h6' "
                           "stroke='#1d2430' stroke-width='1.2' fill='none'/>")
        label_x, label_y = left + (gi + 0.5) * group_width, top + plot_height + 12
        out.append(f"<text transform='translate({label_x:.1f},{label_y}) rotate(-35)' text-anchor='end'>"
                   f"{escape(evaluation)}</text>")
    out.append("</svg>")
    return "".join(out)
