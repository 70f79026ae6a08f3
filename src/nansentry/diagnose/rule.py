"""The shape of a rule: a code, a name, a cause, an explanation and a check.

A rule looks at the evidence (the step trace, the forensic finding, the run's
setup) and either stays silent or returns a Verdict: a confidence for its root
cause, the evidence lines with the actual numbers, and ranked fixes.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Callable, Sequence

from nansentry.diagnose.ops import canonical
from nansentry.diagnose.signals import Signals
from nansentry.records import Finding, Fix, OpEvidence, RunInfo, StepRecord


@dataclass(frozen=True)
class Context:
    """Everything a rule may read; built once per diagnosis."""

    records: Sequence[StepRecord]
    finding: Finding | None
    run: RunInfo
    signals: Signals

    @property
    def op(self) -> OpEvidence | None:
        return self.finding.op if self.finding is not None else None

    @property
    def op_name(self) -> str:
        """Canonical name of the producing op (`log`, `sqrt`, `addcdiv`), or ''."""
        op = self.op
        if op is None:
            return ""
        return canonical(op.op) or canonical(op.grad_op)

    @property
    def phase(self) -> str | None:
        if self.finding is not None:
            return self.finding.phase
        fail = self.signals.fail_step
        return next((r.phase for r in self.records if r.step == fail and r.nonfinite), None)


@dataclass(frozen=True)
class Verdict:
    """One rule's opinion: its cause is behind the failure with this confidence."""

    confidence: float
    summary: str
    evidence: tuple[str, ...] = ()
    fixes: tuple[Fix, ...] = ()


@dataclass(frozen=True)
class Rule:
    """A diagnosis rule with a stable code (`NS201`) and kebab-case name (`log-of-zero`).

    `what`, `why`, `example` and `fix` are the text of `nansentry explain CODE`.
    """

    code: str
    name: str
    cause: str
    what: str
    why: str
    example: str
    fix: str
    check: Callable[[Context], Verdict | None] = field(repr=False, compare=False)

    def explain(self) -> str:
        """The rule's page: what it detects, why it yields NaN, an example, the fix."""
        return (
            f"{self.code} {self.name}  (root cause: {self.cause})\n\n"
            f"What it detects\n{_wrap(self.what)}\n\n"
            f"Why it yields NaN/Inf\n{_wrap(self.why)}\n\n"
            f"Example\n    {self.example.strip()}\n\n"
            f"Fix\n{_wrap(self.fix)}\n"
        )


def _wrap(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), width=88, initial_indent="  ", subsequent_indent="  ")


def fix(action: str, detail: str) -> Fix:
    return Fix(action=action, detail=detail)
