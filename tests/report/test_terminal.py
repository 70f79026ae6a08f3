"""The terminal block: all six parts, colour only on request, long lists folded."""

from __future__ import annotations

import re
from dataclasses import replace

from tests.diagnose.synth import CASES

from nansentry.records import Intervention, Report
from nansentry.report import build_report, render, summary_line

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _report(name: str = "log_softmax_zero", **kw):  # type: ignore[no-untyped-def]
    c = CASES[name]()
    return build_report(c.records, c.finding, c.run, **kw), c.finding


def test_block_has_what_where_why_fix_done_report() -> None:
    report, finding = _report(interventions=[Intervention(250, "stop", "stopped the run")])
    text = render(report, finding, color=False, report_dir="/runs/r1")
    for label in ("WHAT", "WHERE", "WHY", "FIX", "DONE", "REPORT"):
        assert re.search(rf"^{label}\b", text, re.M), label
    assert "step 250 (loss phase)" in text
    assert "/home/u/proj/train.py:12" in text
    assert "loss = -(y * torch.log(F.softmax(z, dim=1))).sum()" in text
    assert "log_of_zero" in text and "NS201" in text
    assert "1. use log_softmax: replace `torch.log(F.softmax(z, dim=1))` at train.py:12" in text
    assert "/runs/r1/report.html" in text
    assert not ANSI.search(text)


def test_colour_only_when_asked() -> None:
    report, finding = _report()
    coloured = render(report, finding, color=True)
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured) == render(report, finding, color=False)


def test_long_sample_lists_are_folded() -> None:
    c = CASES["nan_in_batch"]()
    finding = replace(c.finding, bad_samples=tuple(range(100, 146)))
    text = render(build_report(c.records, finding, c.run), finding, color=False)
    assert "100, 101, 102, 103, 104, 105, … (+40 more)" in text
    assert "145" not in text


def test_lines_stay_narrow() -> None:
    report, finding = _report("exploding_rnn")
    assert max(len(line) for line in render(report, finding, color=False).splitlines()) <= 110


def test_healthy_block_and_summary_line() -> None:
    c = CASES["log_softmax_zero"]()
    healthy = build_report(c.records[:-1], None, c.run)
    assert healthy.status == "healthy" and healthy.diagnosis is None and healthy.first_nonfinite is None
    assert render(healthy, None, color=False) == "nansentry: healthy, 250 steps, no NaN/Inf\n"
    assert summary_line(healthy, 192.3) == "nansentry: healthy, 250 steps in 3m12s, no NaN/Inf"
    skipped = replace(healthy, interventions=(Intervention(3, "skip", "x"), Intervention(9, "skip", "y")))
    assert summary_line(skipped, 4.2) == "nansentry: healthy, 250 steps in 4.2s, no NaN/Inf, 2 steps skipped"


def test_summary_line_of_a_failed_run() -> None:
    report, _ = _report()
    assert summary_line(report, 3725) == "nansentry: non-finite value at step 250 — log_of_zero; 251 steps in 1h02m"


def test_trace_only_block_still_explains() -> None:
    report, finding = _report("lr_warmup_peak")
    text = render(report, finding, color=False)
    assert "learning_rate_too_high" in text and "largest stable step size was about 0.003" in text
    assert isinstance(report, Report)
