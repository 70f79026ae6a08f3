"""Assemble the contract's Report from what the run recorded."""

from __future__ import annotations

from typing import Sequence

from nansentry.diagnose import diagnose
from nansentry.records import Diagnosis, Finding, FirstNonfinite, Intervention, Report, RunInfo, StepRecord


def first_nonfinite(records: Sequence[StepRecord], finding: Finding | None) -> FirstNonfinite | None:
    """Where it happened: the finding's op and line, else the first non-finite record's step and phase."""
    if finding is not None:
        op = finding.op
        return FirstNonfinite(step=finding.step, phase=finding.phase, op=op.op if op else None,
                              module=op.module if op else None, file=op.file if op else None,
                              line=op.line if op else None, tensor=op.tensor if op else None)
    bad = next((r for r in sorted(records, key=lambda r: r.step) if r.nonfinite), None)
    if bad is None:
        return None
    return FirstNonfinite(step=bad.step, phase=bad.phase or "forward")


def build_report(records: Sequence[StepRecord], finding: Finding | None, run: RunInfo,
                 interventions: Sequence[Intervention] = (), steps: int | None = None,
                 diagnosis: Diagnosis | None = None) -> Report:
    """A Report: `nonfinite` with location and diagnosis if anything went non-finite, else `healthy`.

    `steps` defaults to the number of optimizer steps the trace saw; `diagnosis`
    defaults to running the rules.
    """
    fn = first_nonfinite(records, finding)
    if steps is None:
        steps = max((r.step for r in records), default=-1) + 1
    if fn is None:
        return Report(status="healthy", steps=steps, interventions=tuple(interventions))
    d = diagnosis if diagnosis is not None else diagnose(records, finding, run)
    return Report(status="nonfinite", steps=steps, first_nonfinite=fn, diagnosis=d,
                  bad_samples=tuple(finding.bad_samples) if finding is not None else (),
                  interventions=tuple(interventions))
