"""Diagnosis: from the step trace and the forensic finding to one named root cause.

Framework-free: it reads records only, so it runs the same on a live run and on a
saved report dir (`nansentry diagnose DIR`), with or without torch installed.

    >>> from nansentry.diagnose import diagnose
    >>> from nansentry.records import RunInfo
    >>> diagnose([], None, RunInfo()).root_cause
    'unknown'
"""

from nansentry.diagnose import catalog
from nansentry.diagnose.engine import diagnose, evaluate, rule_for
from nansentry.diagnose.rule import Context, Rule, Verdict
from nansentry.diagnose.rules import RULES
from nansentry.diagnose.signals import Signals, read_signals

__all__ = ["RULES", "Context", "Rule", "Signals", "Verdict", "catalog", "diagnose", "evaluate", "read_signals", "rule_for"]
