"""The JSON report of the contract (schema 1) as frozen records.

Field names here are the user-facing contract (`shared/CONTRACT.md`): change them
only by adding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA = 1
PHASES = ("data", "forward", "loss", "backward", "optimizer")
ROOT_CAUSES = (
    "dirty_data",
    "unscaled_data",
    "log_of_zero",
    "invalid_domain",
    "division_by_zero",
    "singular_gradient",
    "exp_overflow",
    "fp16_overflow",
    "exploding_gradients",
    "learning_rate_too_high",
    "bad_initialization",
    "unknown",
)


@dataclass(frozen=True)
class FirstNonfinite:
    """Where the first non-finite value appeared (the contract's `first_nonfinite`)."""

    step: int
    phase: str
    op: str | None = None
    module: str | None = None
    file: str | None = None
    line: int | None = None
    tensor: str | None = None


@dataclass(frozen=True)
class Fix:
    action: str
    detail: str


@dataclass(frozen=True)
class Alternative:
    root_cause: str
    confidence: float


@dataclass(frozen=True)
class Diagnosis:
    """Why it happened: one root cause of the vocabulary, with evidence and fixes."""

    root_cause: str
    confidence: float
    summary: str
    evidence: tuple[str, ...] = ()
    fixes: tuple[Fix, ...] = ()
    alternatives: tuple[Alternative, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "root_cause": self.root_cause,
            "confidence": round(float(self.confidence), 3),
            "summary": self.summary,
            "evidence": list(self.evidence),
            "fixes": [asdict(f) for f in self.fixes],
            "alternatives": [
                {"root_cause": a.root_cause, "confidence": round(float(a.confidence), 3)}
                for a in self.alternatives
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Diagnosis":
        return cls(
            root_cause=d["root_cause"],
            confidence=float(d["confidence"]),
            summary=d.get("summary", ""),
            evidence=tuple(d.get("evidence", ())),
            fixes=tuple(Fix(**f) for f in d.get("fixes", ())),
            alternatives=tuple(Alternative(**a) for a in d.get("alternatives", ())),
        )


@dataclass(frozen=True)
class Intervention:
    """Something the guard did to the run (skip, quarantine, clip, rollback...)."""

    step: int
    action: str
    detail: str


@dataclass(frozen=True)
class Report:
    """The whole JSON report. `extra` carries additive, non-contract fields."""

    status: str  # "healthy" | "nonfinite"
    steps: int
    first_nonfinite: FirstNonfinite | None = None
    diagnosis: Diagnosis | None = None
    bad_samples: tuple[int, ...] = ()
    interventions: tuple[Intervention, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schema": SCHEMA,
            "status": self.status,
            "steps": self.steps,
            "first_nonfinite": asdict(self.first_nonfinite) if self.first_nonfinite else None,
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis else None,
            "bad_samples": [int(i) for i in self.bad_samples],
            "interventions": [asdict(i) for i in self.interventions],
        }
        for k, v in self.extra.items():
            d.setdefault(k, v)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Report":
        known = {"schema", "status", "steps", "first_nonfinite", "diagnosis", "bad_samples", "interventions"}
        fn = d.get("first_nonfinite")
        return cls(
            status=d["status"],
            steps=int(d["steps"]),
            first_nonfinite=FirstNonfinite(**fn) if fn else None,
            diagnosis=Diagnosis.from_dict(d["diagnosis"]) if d.get("diagnosis") else None,
            bad_samples=tuple(d.get("bad_samples", ())),
            interventions=tuple(Intervention(**i) for i in d.get("interventions", ())),
            extra={k: v for k, v in d.items() if k not in known},
        )
