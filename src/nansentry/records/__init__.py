"""Framework-free records: what the watchers emit and everything downstream reads.

Nothing in this package imports a training framework, so rules, reports and the CLI
work the same on a saved trace as on a live run.
"""

from nansentry.records.evidence import Finding, OpEvidence, TensorStats
from nansentry.records.report import (
    PHASES,
    ROOT_CAUSES,
    Alternative,
    Diagnosis,
    Fix,
    FirstNonfinite,
    Intervention,
    Report,
)
from nansentry.records.run import RunInfo
from nansentry.records.step import StepRecord

__all__ = [
    "PHASES",
    "ROOT_CAUSES",
    "Alternative",
    "Diagnosis",
    "Finding",
    "Fix",
    "FirstNonfinite",
    "Intervention",
    "OpEvidence",
    "Report",
    "RunInfo",
    "StepRecord",
    "TensorStats",
]
