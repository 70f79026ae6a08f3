"""The report directory: report.json, finding.json, trace.jsonl and report.html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from nansentry.records import Finding, Report, RunInfo, StepRecord
from nansentry.report.html import render_html
from nansentry.trace import save_report_dir
from nansentry.trace.store import REPORT_HTML, TRACE_JSONL


def write_report_dir(directory: str | Path, report: Report, finding: Finding | None, run: RunInfo,
                     records: Sequence[StepRecord]) -> Path:
    """Write the full report; trace.jsonl only if the live trace did not already write it."""
    d = save_report_dir(directory, report, finding, run)
    trace = d / TRACE_JSONL
    if records and (not trace.is_file() or trace.stat().st_size == 0):
        tmp = trace.with_suffix(".jsonl.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r.to_dict(), separators=(",", ":")) + "\n")
        tmp.replace(trace)
    write_html(d, report, finding, run, records)
    return d


def write_html(directory: Path, report: Report, finding: Finding | None, run: RunInfo,
               records: Sequence[StepRecord]) -> Path:
    """(Re)write report.html atomically."""
    path = directory / REPORT_HTML
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_html(report, finding, run, records), encoding="utf-8")
    tmp.replace(path)
    return path
