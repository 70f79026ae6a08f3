"""The block printed when a run fails: understood in ten seconds, acted on in one minute.

WHAT (value, step, phase), WHERE (op, module, file:line and the code, samples),
WHY (cause, summary, top evidence), WHAT TO DO (numbered fixes), what the guard
did, and where the full report is. ANSI colour only when the caller says so (it
knows whether stderr is a terminal and whether NO_COLOR is set).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from nansentry.diagnose.catalog import find
from nansentry.diagnose.fmt import fold, num
from nansentry.records import Finding, Report

WIDTH = 100
MAX_EVIDENCE = 4
MAX_FIXES = 4
LABEL = 8  # column where the text after WHAT/WHERE/... starts

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36", "magenta": "35"}


class _Paint:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, *styles: str) -> str:
        if not self.color or not styles:
            return text
        return f"\x1b[{';'.join(_CODES[s] for s in styles)}m{text}\x1b[0m"


def _wrap(text: str, indent: int, first: str = "") -> list[str]:
    pad = " " * indent
    return textwrap.wrap(text, width=WIDTH, initial_indent=pad + first, subsequent_indent=pad + " " * len(first),
                         break_on_hyphens=False, break_long_words=False) or [pad + first]


def _lead(lines: list[str], word: str, p: _Paint, *styles: str) -> list[str]:
    """Colour the first occurrence of `word` after wrapping, so colour never changes the layout."""
    if lines and word in lines[0]:
        lines[0] = lines[0].replace(word, p(word, *styles), 1)
    return lines


def render(report: Report, finding: Finding | None, color: bool, report_dir: str | Path | None = None) -> str:
    """The failure block (or a short healthy note) as one string ending in a newline."""
    p = _Paint(color)
    if report.status != "nonfinite":
        return p("nansentry: ", "bold") + f"healthy, {report.steps} steps, no NaN/Inf\n"
    fn, d = report.first_nonfinite, report.diagnosis
    op = finding.op if finding is not None else None
    lines: list[str] = []
    step = fn.step if fn else (finding.step if finding else "?")
    phase = fn.phase if fn else (finding.phase if finding else "?")
    head = f"nansentry: non-finite value at step {step} ({phase} phase)"
    if d is not None:
        head += f" — {d.root_cause} ({d.confidence:.2f})"
    lines += [p("━" * min(WIDTH, len(head) + 2), "red"), p(head, "bold", "red")]

    def block(label: str, body: list[str]) -> None:
        if not body:
            return
        lines.append(p(f"{label:<{LABEL}}", "bold", "cyan") + body[0][LABEL:])
        lines.extend(body[1:])

    what = []
    if fn and fn.op:
        kind = _produced(finding)
        what = _wrap(f"`{fn.op}` produced {kind}" + (f" in the {fn.tensor}" if fn.tensor and fn.tensor != "output"
                                                      else ""), LABEL)
    elif fn:
        what = _wrap(f"first non-finite value in the {fn.phase} phase", LABEL)
    block("WHAT", what)

    where: list[str] = []
    if fn and (fn.file or fn.module):
        loc = f"{fn.file}:{fn.line}" if fn.file and fn.line else (fn.file or "")
        where += _wrap(" ".join(x for x in (loc, f"(module `{fn.module}`)" if fn.module else "") if x), LABEL)
    if op is not None and op.code:
        where.append(" " * (LABEL + 2) + p(op.code.strip(), "yellow"))
    samples = report.bad_samples or (finding.bad_samples if finding else ())
    if samples:
        where += _wrap(f"samples {fold(samples)} (dataset indices) alone reproduce it", LABEL)
    elif finding is not None and finding.batch_positions:
        where += _wrap(f"batch positions {fold(finding.batch_positions)}", LABEL)
    block("WHERE", where)

    if d is not None:
        rule = find(d.root_cause)
        why = _lead(_wrap(f"{d.root_cause} — {d.summary}", LABEL), d.root_cause, p, "bold", "magenta")
        evidence = [e for e in d.evidence if not (fn and fn.op and e.startswith(f"`{fn.op}`") and " produced " in e)
                    and not (samples and e.startswith(("dataset samples", "batch positions")))]
        for e in evidence[:MAX_EVIDENCE]:
            why += [p(x, "dim") for x in _wrap(e, LABEL, "· ")]
        if len(evidence) > MAX_EVIDENCE:
            why.append(" " * LABEL + f"… (+{len(evidence) - MAX_EVIDENCE} more in the report)")
        if d.alternatives:
            alts = ", ".join(f"{a.root_cause} {a.confidence:.2f}" for a in d.alternatives)
            why += _wrap(f"less likely: {alts}", LABEL)
        if rule is not None:
            why += _wrap(f"more: nansentry explain {rule.code}", LABEL)
        block("WHY", why)
        todo: list[str] = []
        for i, f in enumerate(d.fixes[:MAX_FIXES], 1):
            todo += _lead(_wrap(f"{f.action}: {f.detail}", LABEL, f"{i}. "), f.action, p, "green")
        if len(d.fixes) > MAX_FIXES:
            todo.append(" " * LABEL + f"… (+{len(d.fixes) - MAX_FIXES} more in the report)")
        block("FIX", todo)

    done: list[str] = []
    acts = report.interventions
    for iv in acts[:3]:
        done += _wrap(f"step {iv.step}: {iv.action} — {iv.detail}", LABEL)
    if len(acts) > 3:
        done.append(" " * LABEL + f"… (+{len(acts) - 3} more)")
    block("DONE", done)
    target = report_dir or report.extra.get("report_dir")
    if target:
        block("REPORT", _wrap(str(Path(target) / "report.html"), LABEL))
    lines.append(p("━" * min(WIDTH, len(head) + 2), "red"))
    return "\n".join(lines) + "\n"


def _produced(finding: Finding | None) -> str:
    o = finding.op.output if finding is not None and finding.op is not None else None
    if o is None:
        return "a non-finite value"
    kinds = [f"{n} {k}" for n, k in ((o.n_nan, "NaN"), (o.n_posinf, "+inf"), (o.n_neginf, "-inf")) if n]
    return " and ".join(kinds) if kinds else "a non-finite value"


def summary_line(report: Report, seconds: float) -> str:
    """One line for stderr at the end of a run: `nansentry: healthy, 412 steps in 3m12s, no NaN/Inf`."""
    took = _duration(seconds)
    acts = report.interventions
    skipped = sum(1 for i in acts if i.action == "skip")
    extra = f", {skipped} step{'s' if skipped != 1 else ''} skipped" if skipped else ""
    other = len(acts) - skipped
    extra += f", {other} other intervention{'s' if other != 1 else ''}" if other else ""
    aside = report.extra.get("guard_error")
    if report.status == "healthy" and aside:
        return (f"nansentry: no NaN/Inf up to step {aside['step']}, where the guard stepped aside after "
                f"its own error ({aside['error']}); the steps after it were not watched{extra}")
    if report.status == "healthy":
        return f"nansentry: healthy, {report.steps} steps in {took}, no NaN/Inf{extra}"
    fn, d = report.first_nonfinite, report.diagnosis
    cause = f" — {d.root_cause}" if d else ""
    at = f" at step {fn.step}" if fn else ""
    return f"nansentry: non-finite value{at}{cause}; {report.steps} steps in {took}{extra}"


def _duration(seconds: float) -> str:
    s = max(0.0, seconds)
    if s < 60:
        return f"{num(s, 1)}s" if s < 10 else f"{s:.0f}s"
    m, s = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"
