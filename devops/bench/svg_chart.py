"""Line charts as plain SVG, for benchmarks that write curves into docs/ without matplotlib
(not in the venv: the benches must run on a fresh setup)."""

from __future__ import annotations

from pathlib import Path

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939"]


def line_chart(series: dict[str, list[tuple[float, float]]], path: Path, title: str, x_label: str,
               colours: dict[str, str] | None = None, width: int = 680, height: int = 340) -> None:
    """One polyline per series of (x, y) points, both axes from 0, the legend on the right.
    `colours` names a colour per series (others take the palette in order); written atomically."""
    from metta.common.uri import atomic_write_bytes

    xs = [x for line in series.values() for x, _ in line]
    ys = [y for line in series.values() for _, y in line]
    x_max = max(xs, default=1.0) or 1.0
    y_max = max(max(ys, default=1.0), 1e-6)
    left, right, top, bottom = 52, width - 170, 28, height - 34

    def at(x: float, y: float) -> str:
        return f"{left + x / x_max * (right - left):.1f},{bottom - y / y_max * (bottom - top):.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{bottom}" x2="{left}" y2="{top}" stroke="black"/>',
             f'<text x="{left}" y="16">{title}</text>',
             f'<text x="{left - 10}" y="{bottom + 14}">0</text>',
             f'<text x="{right - 30}" y="{bottom + 14}">{x_max:,.3g}</text>',
             f'<text x="{(left + right) / 2 - 40}" y="{height - 6}">{x_label}</text>',
             f'<text x="4" y="{top + 4}">{y_max:.3g}</text>',
             f'<text x="4" y="{bottom}">0</text>']
    for index, (name, line) in enumerate(series.items()):
        colour = (colours or {}).get(name, COLOURS[index % len(COLOURS)])
        if line:
            points = " ".join(at(x, y) for x, y in line)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>')
        parts.append(f'<text x="{right + 10}" y="{top + 16 * index}" fill="{colour}">{name}</text>')
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, ("\n".join(parts) + "\n").encode())
    print(f"# plot: {path}", flush=True)
