"""A saved report directory: everything `nansentry diagnose DIR` needs, no model.

Layout:
    report.json    the contract's JSON report
    trace.jsonl    one StepRecord per line
    finding.json   forensic evidence (Finding) and the run's setup (RunInfo)
    report.html    the self-contained page
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from nansentry.records import Finding, Report, RunInfo, StepRecord
from nansentry.trace.ring import Trace

REPORT_JSON = "report.json"
TRACE_JSONL = "trace.jsonl"
FINDING_JSON = "finding.json"
REPORT_HTML = "report.html"


@dataclass(frozen=True)
class ReportDir:
    """The contents of a saved report directory."""

    report: Report
    records: tuple[StepRecord, ...]
    finding: Finding | None
    run: RunInfo


def save_report_dir(directory: str | Path, report: Report, finding: Finding | None, run: RunInfo) -> Path:
    """Write report.json and finding.json (the trace is written as it grows)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    write_json(d / REPORT_JSON, report.to_dict())
    write_json(d / FINDING_JSON, {"finding": finding.to_dict() if finding else None, "run": run.to_dict()})
    return d


def load_report_dir(directory: str | Path) -> ReportDir:
    """Read a report dir back; raise FileNotFoundError naming what is missing."""
    d = Path(directory)
    report_path = d / REPORT_JSON
    if not report_path.is_file():
        raise FileNotFoundError(f"{report_path} not found: is {d} a directory written by `nansentry run --report`?")
    report = Report.from_dict(json.loads(report_path.read_text(encoding="utf-8")))
    records = tuple(Trace.read(d / TRACE_JSONL)) if (d / TRACE_JSONL).is_file() else ()
    finding, run = None, RunInfo()
    if (d / FINDING_JSON).is_file():
        raw = json.loads((d / FINDING_JSON).read_text(encoding="utf-8"))
        finding = Finding.from_dict(raw["finding"]) if raw.get("finding") else None
        run = RunInfo.from_dict(raw.get("run") or {})
    return ReportDir(report=report, records=records, finding=finding, run=run)


def write_json(path: Path, obj: object) -> None:
    """Write atomically so a crash never leaves half a report."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
