"""Charts drawn on the server as SVG: no script, nothing from another origin, so the
strict CSP stays as it is. Each chart has a title and a description for screen readers
(role="img"); the page lists the numbers beside it. Styling is in static/console.css.
"""

from __future__ import annotations

import datetime as dt

from markupsafe import Markup, escape

WIDTH = 560
BAR_HEIGHT = 22
LABEL_WIDTH = 110
PLOT_HEIGHT = 70


def _svg(chart_id: str, title: str, summary: str, height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" id="{chart_id}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>{"".join(body)}</svg>')


def bars(chart_id: str, title: str, items: list[tuple[str, int]], approx: bool = False,
         warn_from: int | None = None) -> Markup:
    """Horizontal bars, one per (label, value); bars from index `warn_from` on are
    coloured as a warning (e.g. documents waiting too long)."""
    top = max([v for _, v in items] + [1])
    room = WIDTH - LABEL_WIDTH - 90
    prefix = "≈" if approx else ""
    body = []
    for n, (label, value) in enumerate(items):
        y = n * (BAR_HEIGHT + 6) + 4
        length = 0 if not value else max(2, round(room * value / top))
        warn = " warn" if warn_from is not None and n >= warn_from and value else ""
        body.append(
            f'<text x="0" y="{y + 16}">{escape(label)}</text>'
            f'<rect class="bar{warn}" x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR_HEIGHT}"/>'
            f'<text x="{LABEL_WIDTH + length + 6}" y="{y + 16}">{prefix}{value:,}</text>')
    summary = "; ".join(f"{label}: {prefix}{value:,}" for label, value in items)
    return _svg(chart_id, title, summary, len(items) * (BAR_HEIGHT + 6) + 8, body)


def line(chart_id: str, title: str, days: list[dt.date], values: list[float | None],
         unit: str = "", decimals: int = 0) -> Markup:
    """A line over `days` (gaps where a value is None), with its range on the axis."""
    left, bottom, top_pad = 70, 22, 24
    height = PLOT_HEIGHT + bottom + top_pad
    known = [v for v in values if v is not None]
    high = max(known + [0]) or 1
    low = 0
    step = (WIDTH - left - 10) / max(1, len(days) - 1)

    def y(v):
        return top_pad + PLOT_HEIGHT - (PLOT_HEIGHT * (v - low) / (high - low or 1))

    def fmt(v):
        return f"{v:,.{decimals}f}{unit}"

    body = [f'<text class="chart-title" x="0" y="14">{escape(title)}</text>',
            f'<line class="grid" x1="{left}" y1="{top_pad}" x2="{WIDTH}" y2="{top_pad}"/>',
            f'<line class="axis" x1="{left}" y1="{top_pad + PLOT_HEIGHT}" x2="{WIDTH}" '
            f'y2="{top_pad + PLOT_HEIGHT}"/>',
            f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{fmt(high)}</text>',
            f'<text x="{left - 6}" y="{top_pad + PLOT_HEIGHT}" text-anchor="end">{fmt(low)}</text>']
    segment: list[str] = []
    for n, v in enumerate(values + [None]):
        if v is not None:
            segment.append(f"{left + n * step:.1f},{y(v):.1f}")
            body.append(f'<circle class="dot" cx="{left + n * step:.1f}" cy="{y(v):.1f}" r="2.5"/>')
        elif segment:
            body.append(f'<polyline class="line" points="{" ".join(segment)}"/>')
            segment = []
    if days:
        body.append(f'<text x="{left}" y="{height - 4}">{days[0]:%d %b}</text>')
        body.append(f'<text x="{WIDTH}" y="{height - 4}" text-anchor="end">{days[-1]:%d %b}</text>')
    summary = (f"From {days[0]:%d %b} to {days[-1]:%d %b}: lowest {fmt(min(known))}, highest "
               f"{fmt(max(known))}, latest {fmt(known[-1])}." if known else "No data.")
    return _svg(chart_id, title, summary, height, body)
