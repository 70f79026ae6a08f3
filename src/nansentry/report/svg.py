"""Inline SVG plots drawn in Python: no JS, no network, opens offline.

Two shapes are enough for a NaN post-mortem: a line chart (loss, gradient norm
up to the failure, log scale when the values span decades) and a heat map of the
per-module gradient norms over time. Non-finite points are drawn as red marks at
the top edge, and the failing step as a red vertical line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Sequence

MAX_POINTS = 600  # beyond this, consecutive steps are merged (keeping the maximum: spikes matter)
FAIL = "#d62839"
GRID = "#e5e7eb"
INK = "#374151"


@dataclass(frozen=True)
class Series:
    label: str
    steps: tuple[int, ...]
    values: tuple[float | None, ...]
    color: str


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def _decimate(steps: Sequence[int], values: Sequence[float | None]) -> tuple[list[int], list[float | None]]:
    if len(steps) <= MAX_POINTS:
        return list(steps), list(values)
    k = math.ceil(len(steps) / MAX_POINTS)
    out_s, out_v = [], []
    for i in range(0, len(steps), k):
        chunk = [v for v in values[i:i + k]]
        bad = [v for v in chunk if v is not None and not math.isfinite(v)]
        good = [v for v in chunk if _finite(v)]
        out_s.append(steps[i])
        out_v.append(bad[0] if bad else (max(good) if good else None))  # type: ignore[type-var]
    return out_s, out_v


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    if log:
        a, b = math.floor(lo), math.ceil(hi)
        step = max(1, math.ceil((b - a) / 6))
        return [float(e) for e in range(a, b + 1, step)]
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step) + 1)]


def _label(v: float, log: bool) -> str:
    if log:
        return f"1e{int(v)}" if not 0 <= v <= 3 else f"{10 ** v:g}"
    return f"{v:.3g}"


def line_chart(series: Sequence[Series], title: str, mark_step: int | None = None, log_y: bool | None = None,
               width: int = 560, height: int = 220) -> str:
    """An SVG line chart of one or more series over steps; log scale when the values span > 2 decades."""
    pts = [(s, *_decimate(s.steps, s.values)) for s in series]
    vals = [v for _, _, vs in pts for v in vs if _finite(v)]
    steps = [x for _, xs, _ in pts for x in xs] + ([mark_step] if mark_step is not None else [])
    if not vals or not steps:
        return _empty(title, width, height)
    pos = [v for v in vals if v > 0]  # type: ignore[operator]
    if log_y is None:
        log_y = len(pos) == len(vals) and max(pos) / min(pos) > 100
    tr = (lambda v: math.log10(v)) if log_y else (lambda v: v)
    ys = [tr(v) for v in (pos if log_y else vals)]  # type: ignore[arg-type]
    lo, hi = min(ys), max(ys)
    if hi - lo <= 1e-9 * max(1.0, abs(hi)):  # a constant series: a band around it
        half = 0.5 if log_y else (abs(hi) * 0.5 or 1.0)
        lo, hi = lo - half, hi + half
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    x0, x1 = min(steps), max(steps)
    if x1 == x0:
        x1 = x0 + 1
    L, R, T, B = 58, 12, 30, 30
    W, H = width - L - R, height - T - B

    def px(x: float) -> float:
        return L + (x - x0) / (x1 - x0) * W

    def py(y: float) -> float:
        return T + (1 - (y - lo) / (hi - lo)) * H

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
           f'aria-label="{escape(title)}" class="chart">',
           f'<text x="{L}" y="18" class="ct">{escape(title)}{" (log scale)" if log_y else ""}</text>']
    for t in _ticks(lo, hi, log_y):
        if lo <= t <= hi:
            out.append(f'<line x1="{L}" x2="{L + W}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="{GRID}"/>'
                       f'<text x="{L - 6}" y="{py(t) + 4:.1f}" text-anchor="end" class="tk">{_label(t, log_y)}</text>')
    for t in _ticks(x0, x1, False):
        if x0 <= t <= x1 and float(t).is_integer():
            out.append(f'<text x="{px(t):.1f}" y="{T + H + 16}" text-anchor="middle" class="tk">{int(t)}</text>')
    out.append(f'<rect x="{L}" y="{T}" width="{W}" height="{H}" fill="none" stroke="{GRID}"/>')
    for s, xs, vs in pts:
        path, pen = [], "M"
        for x, v in zip(xs, vs):
            if _finite(v) and (not log_y or v > 0):  # type: ignore[operator]
                path.append(f"{pen}{px(x):.1f},{py(tr(v)):.1f}")  # type: ignore[arg-type]
                pen = "L"
            else:
                pen = "M"
                if v is not None and not math.isfinite(v):
                    out.append(f'<text x="{px(x):.1f}" y="{T + 10}" text-anchor="middle" class="nf">×</text>')
        if path:
            out.append(f'<path d="{" ".join(path)}" fill="none" stroke="{s.color}" stroke-width="1.6"/>')
        if len(path) <= 40:  # short traces: show the points themselves (one point draws no line)
            out.extend(f'<circle cx="{p[1:].split(",")[0]}" cy="{p.split(",")[1]}" r="2.6" fill="{s.color}"/>'
                       for p in path)
    if mark_step is not None:
        xm = px(mark_step)
        out.append(f'<line x1="{xm:.1f}" x2="{xm:.1f}" y1="{T}" y2="{T + H}" stroke="{FAIL}" stroke-width="1.5" '
                   f'stroke-dasharray="4 3"/><text x="{xm - 5:.1f}" y="{T + H - 6}" text-anchor="end" '
                   f'class="fl">step {mark_step}: non-finite</text>')
    out.append(_legend(series, L + W, 18))
    out.append("</svg>")
    return "".join(out)


def _legend(series: Sequence[Series], right: float, y: float) -> str:
    parts, x = [], right
    for s in reversed(series):
        w = 7 * len(s.label) + 22
        x -= w
        parts.append(f'<line x1="{x:.0f}" x2="{x + 14:.0f}" y1="{y - 4}" y2="{y - 4}" stroke="{s.color}" '
                     f'stroke-width="2.5"/><text x="{x + 18:.0f}" y="{y}" class="tk">{escape(s.label)}</text>')
    return "".join(parts)


def _empty(title: str, width: int, height: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height // 2}" width="100%" class="chart">'
            f'<text x="12" y="18" class="ct">{escape(title)}</text>'
            f'<text x="12" y="48" class="tk">no values recorded</text></svg>')


def _heat(t: float) -> str:
    """0..1 -> a perceptually ordered ramp (pale yellow -> orange -> dark purple)."""
    stops = [(255, 247, 214), (253, 174, 97), (215, 48, 39), (84, 39, 136)]
    t = min(max(t, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    f = t - i
    a, b = stops[i], stops[i + 1]
    return "#%02x%02x%02x" % tuple(round(a[k] + (b[k] - a[k]) * f) for k in range(3))


def heatmap(rows: Sequence[str], steps: Sequence[int], grid: dict[tuple[str, int], float], title: str,
            mark_step: int | None = None, width: int = 1120) -> str:
    """Per-module gradient norms (rows, in module order) over steps, colour on a log scale."""
    if not rows or not steps:
        return _empty(title, width, 160)
    cols = list(steps)
    if len(cols) > MAX_POINTS // 2:
        k = math.ceil(len(cols) / (MAX_POINTS // 2))
        merged: dict[tuple[str, int], float] = {}
        for i in range(0, len(cols), k):
            for r in rows:
                vs = [grid[(r, c)] for c in cols[i:i + k] if (r, c) in grid]
                if vs:
                    bad = [v for v in vs if not math.isfinite(v)]
                    merged[(r, cols[i])] = bad[0] if bad else max(vs)
        grid, cols = merged, cols[::k]
    logs = [math.log10(v) for v in grid.values() if math.isfinite(v) and v > 0]
    lo, hi = (min(logs), max(logs)) if logs else (0.0, 1.0)
    if hi - lo < 1e-9:
        hi = lo + 1
    label_w = min(220, 8 + 7 * max(len(r) for r in rows))
    L, T, R = label_w, 30, 70
    cell_h = 18 if len(rows) <= 24 else max(6, 432 // len(rows))
    W = width - L - R
    cw = W / len(cols)
    H = cell_h * len(rows)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {T + H + 34}" width="100%" role="img" '
           f'aria-label="{escape(title)}" class="chart">',
           f'<text x="8" y="18" class="ct">{escape(title)}</text>']
    for ri, r in enumerate(rows):
        y = T + ri * cell_h
        out.append(f'<text x="{L - 6}" y="{y + cell_h * 0.7:.1f}" text-anchor="end" class="tk">{escape(r)}</text>')
        for ci, c in enumerate(cols):
            v = grid.get((r, c))
            if v is None:
                continue
            fill = FAIL if not math.isfinite(v) else ("#f3f4f6" if v <= 0 else _heat((math.log10(v) - lo) / (hi - lo)))
            out.append(f'<rect x="{L + ci * cw:.1f}" y="{y}" width="{cw + 0.3:.1f}" height="{cell_h - 1}" '
                       f'fill="{fill}"><title>{escape(r)} step {c}: {v:.3g}</title></rect>')
    for t in _ticks(cols[0], cols[-1], False):
        if cols[0] <= t <= cols[-1] and float(t).is_integer():
            idx = min(range(len(cols)), key=lambda i: abs(cols[i] - t))
            out.append(f'<text x="{L + (idx + 0.5) * cw:.1f}" y="{T + H + 14}" text-anchor="middle" '
                       f'class="tk">{int(t)}</text>')
    if mark_step is not None and cols[0] <= mark_step <= cols[-1] + 1:
        idx = min(range(len(cols)), key=lambda i: abs(cols[i] - mark_step))
        xm = L + (idx + 0.5) * cw
        out.append(f'<line x1="{xm:.1f}" x2="{xm:.1f}" y1="{T - 4}" y2="{T + H}" stroke="{FAIL}" stroke-width="1.5" '
                   'stroke-dasharray="4 3"/>')
    for i in range(10):  # colour bar
        out.append(f'<rect x="{width - R + 14}" y="{T + (9 - i) * H / 10:.1f}" width="12" height="{H / 10 + 0.5:.1f}" '
                   f'fill="{_heat(i / 9)}"/>')
    out.append(f'<text x="{width - R + 30}" y="{T + 8}" class="tk">{10 ** hi:.1g}</text>'
               f'<text x="{width - R + 30}" y="{T + H}" class="tk">{10 ** lo:.1g}</text></svg>')
    return "".join(out)
