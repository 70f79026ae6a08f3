"""A report dir built from a synthetic case, shared by the report tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.diagnose.synth import CASES

from nansentry.records import Intervention, Report
from nansentry.report import build_report, write_report_dir

EVIL = "<script>alert('x')</script>"


def make_dir(tmp: Path, name: str = "log_softmax_zero", evil: bool = False) -> tuple[Path, Report]:
    case = CASES[name]()
    finding = case.finding
    if evil and finding is not None and finding.op is not None:
        finding = replace(finding, op=replace(finding.op, code=f"loss = torch.log(p) # {EVIL}", module=EVIL))
    ivs = [Intervention(finding.step if finding else 0, "stop", "stopped after the diagnosis")]
    report = build_report(case.records, finding, case.run, interventions=ivs)
    d = write_report_dir(tmp / name, report, finding, case.run, case.records)
    return d, report
