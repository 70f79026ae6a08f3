"""One self-contained HTML page: inline CSS and SVG, no script, no network.

Everything user-controlled (code lines, paths, module names, evidence) goes
through `html.escape`; the page must open from a file:// URL on an offline machine.
"""

from __future__ import annotations

import os
from html import escape
from typing import Sequence

from nansentry.diagnose.catalog import find
from nansentry.diagnose.fmt import fold, num
from nansentry.records import Finding, Report, RunInfo, StepRecord, TensorStats
from nansentry.report.style import CSS
from nansentry.report.svg import Series, heatmap, line_chart


def _e(x: object) -> str:
    return escape(str(x), quote=True)


def render_html(report: Report, finding: Finding | None, run: RunInfo, records: Sequence[StepRecord]) -> str:
    """The whole page as a string."""
    fail = report.first_nonfinite.step if report.first_nonfinite else None
    ok = report.status != "nonfinite"
    title = "healthy run" if ok else f"non-finite value at step {fail}"
    body = [_header(report, run, ok, title)]
    if not ok:
        body += [_diagnosis(report), _where(report, finding), _fixes(report)]
    body += [_plots(records, run, fail), _interventions(report), _footer(report)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>nansentry — {_e(title)}</title><style>{CSS}</style></head><body><main>"
            + "".join(b for b in body if b) + "</main></body></html>\n")


def _header(report: Report, run: RunInfo, ok: bool, title: str) -> str:
    badge = '<span class="badge ok">healthy</span>' if ok else '<span class="badge bad">NaN/Inf</span>'
    facts = [f"{report.steps} step{'s' if report.steps != 1 else ''}"]
    if run.script:
        facts.append(_e(os.path.basename(run.script)))
    if run.optimizers:
        facts.append(", ".join(_e(_opt(o)) for o in run.optimizers))
    if run.autocast_dtype:
        facts.append(f"autocast {_e(run.autocast_dtype)}")
    if run.n_params:
        facts.append(f"{run.n_params:,} parameters")
    return (f'<header><div class="brand">nansentry</div><h1>{badge} {_e(title)}</h1>'
            f'<p class="facts">{" · ".join(facts)}</p></header>')


def _opt(o: dict) -> str:
    bits = [str(o.get("name", "optimizer"))]
    for k in ("lr", "eps"):
        if o.get(k) is not None:
            bits.append(f"{k}={num(float(o[k]))}")
    return " ".join(bits)


def _diagnosis(report: Report) -> str:
    d = report.diagnosis
    if d is None:
        return ""
    rule = find(d.root_cause)
    code = f'<span class="code-tag">{_e(rule.code)} {_e(rule.name)}</span>' if rule else ""
    pct = max(0, min(100, round(d.confidence * 100)))
    ev = "".join(f"<li>{_ticks(e)}</li>" for e in d.evidence)
    alts = "".join(f'<li><span class="cause">{_e(a.root_cause)}</span> <span class="muted">{a.confidence:.2f}'
                   f"</span></li>" for a in d.alternatives)
    return (f'<section class="card diag" id="diagnosis"><h2>Why</h2>'
            f'<div class="cause-line"><span class="cause big">{_e(d.root_cause)}</span>{code}</div>'
            f'<div class="conf"><div class="bar"><div style="width:{pct}%"></div></div>'
            f'<span>confidence {d.confidence:.2f}</span></div>'
            f'<p class="summary">{_ticks(d.summary)}</p>'
            + (f"<h3>Evidence</h3><ul class=\"ev\">{ev}</ul>" if ev else "")
            + (f'<h3>Less likely</h3><ul class="alts">{alts}</ul>' if alts else "")
            + "</section>")


def _ticks(text: str) -> str:
    """Escape, then show `code` spans as <code>."""
    parts = _e(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _where(report: Report, finding: Finding | None) -> str:
    fn = report.first_nonfinite
    if fn is None:
        return ""
    op = finding.op if finding else None
    rows = [("step", fn.step), ("phase", fn.phase), ("op", fn.op), ("module", fn.module),
            ("file", f"{fn.file}:{fn.line}" if fn.file and fn.line else fn.file), ("tensor", fn.tensor)]
    if op is not None:
        rows += [("backward node", op.grad_op), ("dtype", op.dtype), ("autocast", "yes" if op.autocast else None),
                 ("parameter", op.param), ("optimizer", op.optimizer)]
    if finding is not None and finding.reproduced is not None:
        rows.append(("replay", "failed again (reproduced)" if finding.reproduced else "did not fail again"))
    table = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows if v not in (None, ""))
    code = (f'<pre class="src"><span class="ln">{_e(fn.line or "")}</span>{_e(op.code.rstrip())}</pre>'
            if op is not None and op.code else "")
    stats = ""
    if op is not None and (op.inputs or op.output):
        items = [*op.inputs, *([op.output] if op.output else [])]
        stats = "<h3>Values at the op</h3>" + _stats_table(items)
    if finding is not None and finding.data_stats:
        stats += "<h3>Batch</h3>" + _stats_table(finding.data_stats)
    samples = report.bad_samples or (finding.bad_samples if finding else ())
    samp = ""
    if samples:
        samp = (f'<h3>Samples</h3><p>Dataset indices that alone reproduce it: '
                f'<span class="samples">{_e(fold(samples, 40))}</span></p>')
    elif finding is not None and finding.batch_positions:
        samp = f'<h3>Samples</h3><p>Batch positions: {_e(fold(finding.batch_positions, 40))}</p>'
    notes = "".join(f"<li>{_e(n)}</li>" for n in (finding.notes if finding else ()))
    if finding is None or finding.op is None:
        notes += "<li>No op-level evidence was recorded; the diagnosis rests on the step trace.</li>"
    return (f'<section class="card" id="where"><h2>Where</h2><table class="kv">{table}</table>{code}{stats}{samp}'
            + (f'<h3>Notes</h3><ul>{notes}</ul>' if notes else "") + "</section>")


def _stats_table(items: Sequence[TensorStats]) -> str:
    head = "<tr><th>tensor</th><th>dtype</th><th>shape</th><th>min</th><th>max</th><th>NaN</th><th>±inf</th>" \
           "<th>zeros</th><th>neg</th><th>±1</th><th>&gt;65504</th></tr>"
    rows = []
    for i, s in enumerate(items):
        name = s.name or f"input {i}"
        cells = [name, s.dtype, "×".join(map(str, s.shape)) or "—", num(s.min), num(s.max), s.n_nan,
                 s.n_posinf + s.n_neginf, s.n_zero, s.n_negative, s.n_one, s.n_beyond]
        tds = "".join(f'<td class="{"hot" if isinstance(c, int) and c and j >= 5 else ""}">{_e(c)}</td>'
                      for j, c in enumerate(cells))
        rows.append(f"<tr>{tds}</tr>")
    return f'<div class="scroll"><table class="stats">{head}{"".join(rows)}</table></div>'


def _fixes(report: Report) -> str:
    d = report.diagnosis
    if d is None or not d.fixes:
        return ""
    items = "".join(f'<li><b>{_e(f.action)}</b> — {_ticks(f.detail)}</li>' for f in d.fixes)
    return f'<section class="card fixes" id="fixes"><h2>What to do</h2><ol>{items}</ol></section>'


def _plots(records: Sequence[StepRecord], run: RunInfo, fail: int | None) -> str:
    if not records:
        return '<section class="card" id="plots"><h2>Trace</h2><p class="muted">No step trace was recorded.</p></section>'
    recs = sorted(records, key=lambda r: r.step)
    steps = tuple(r.step for r in recs)
    loss = line_chart([Series("loss", steps, tuple(r.loss for r in recs), "#2563eb")], "Loss", fail)
    grad = line_chart([Series("grad norm", steps, tuple(r.grad_norm for r in recs), "#ea580c"),
                       Series("param norm", steps, tuple(r.param_norm for r in recs), "#6b7280")],
                      "Gradient and parameter norm", fail)
    extra = ""
    if any(r.lr is not None for r in recs):
        extra += line_chart([Series("lr", steps, tuple(r.lr for r in recs), "#059669")], "Learning rate", fail)
    if any(r.update_ratio is not None for r in recs):
        pts = [(r.step, r.update_ratio) for r in recs if r.update_ratio is not None]
        extra += line_chart([Series("update/weight", tuple(s for s, _ in pts), tuple(v for _, v in pts), "#7c3aed")],
                            "Update-to-weight ratio", fail, log_y=True)
    mods = list(run.modules) or []
    seen = {m for r in recs for m in r.module_grad_norms}
    rows = [m for m in mods if m in seen] + sorted(seen - set(mods))
    grid = {(m, r.step): v for r in recs for m, v in r.module_grad_norms.items()}
    heat = heatmap(rows, steps, grid, "Gradient norm per module (log colour; red = non-finite)", fail) if rows else ""
    return (f'<section class="card" id="plots"><h2>Trace</h2><div class="grid2">{loss}{grad}{extra}</div>'
            f'{heat}</section>')


def _interventions(report: Report) -> str:
    if not report.interventions:
        return ""
    rows = "".join(f"<tr><td>{_e(i.step)}</td><td>{_e(i.action)}</td><td>{_e(i.detail)}</td></tr>"
                   for i in report.interventions)
    return (f'<section class="card" id="interventions"><h2>What nansentry did</h2><table class="list">'
            f"<tr><th>step</th><th>action</th><th>detail</th></tr>{rows}</table></section>")


def _footer(report: Report) -> str:
    return ('<footer>Generated by nansentry · schema 1 · the same data as <code>report.json</code>, '
            '<code>finding.json</code> and <code>trace.jsonl</code> in this folder · re-diagnose offline with '
            '<code>nansentry diagnose DIR</code></footer>')

