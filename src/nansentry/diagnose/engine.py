"""Run every rule, keep the strongest verdict, rank the rest as alternatives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from nansentry.diagnose.rule import Context, Rule, Verdict
from nansentry.diagnose.rules import RULES
from nansentry.diagnose.signals import read_signals
from nansentry.records import Alternative, Diagnosis, Finding, RunInfo, StepRecord

NO_EVENT_CAP = 0.25  # without a non-finite value, no cause may beat `unknown` (0.3)
NOT_REPRODUCED = 0.85  # the replay did not fail again: op evidence is less certain
MIN_ALTERNATIVE = 0.1
MAX_ALTERNATIVES = 3


@dataclass(frozen=True)
class Scored:
    """A rule and the verdict it returned (confidence already adjusted)."""

    rule: Rule
    verdict: Verdict


def evaluate(records: Sequence[StepRecord], finding: Finding | None, run: RunInfo) -> list[Scored]:
    """Every rule's verdict, strongest first (ties keep the registry order)."""
    ctx = Context(records, finding, run, read_signals(records, finding, run))
    out: list[Scored] = []
    for rule in RULES:
        v = rule.check(ctx)
        if v is None:
            continue
        conf = v.confidence
        if rule.cause != "unknown":
            if not ctx.signals.has_event:
                conf = min(conf, NO_EVENT_CAP)
            if finding is not None and finding.reproduced is False:
                conf *= NOT_REPRODUCED
        out.append(Scored(rule, Verdict(round(max(0.0, min(conf, 0.99)), 3), v.summary, v.evidence, v.fixes)))
    out.sort(key=lambda s: -s.verdict.confidence)
    return out


def diagnose(records: Sequence[StepRecord], finding: Finding | None, run: RunInfo) -> Diagnosis:
    """Name one root cause of the contract's vocabulary, with evidence, fixes and alternatives.

    Works the same on a live run and on a saved report dir: it reads only records.
    """
    scored = evaluate(records, finding, run)
    best = scored[0]
    alts: list[Alternative] = []
    for s in scored[1:]:
        c = s.rule.cause
        if c == best.rule.cause or c == "unknown" or s.verdict.confidence < MIN_ALTERNATIVE:
            continue
        if any(a.root_cause == c for a in alts):
            continue
        alts.append(Alternative(c, s.verdict.confidence))
        if len(alts) == MAX_ALTERNATIVES:
            break
    v = best.verdict
    fixes = v.fixes
    runner = next((s for s in scored[1:] if s.rule.cause not in (best.rule.cause, "unknown")), None)
    if runner is not None and runner.verdict.confidence >= 0.45 and runner.verdict.fixes:
        f = runner.verdict.fixes[0]
        fixes = fixes + (type(f)(f"if that is not it: {f.action}", f.detail),)
    summary = v.summary if v.summary.endswith(".") else v.summary + "."
    return Diagnosis(root_cause=best.rule.cause, confidence=v.confidence, summary=summary,
                     evidence=v.evidence, fixes=fixes, alternatives=tuple(alts))


def rule_for(diagnosis: Diagnosis) -> Rule:
    """The rule behind a diagnosis' root cause (for its code and name)."""
    return next(r for r in RULES if r.cause == diagnosis.root_cause)
