"""The guard's own state, to save and load with the user's checkpoint (no torch).

A run resumed from a checkpoint must keep what recovery learned: the quarantined
samples (or they poison the resumed run again), the clip threshold (and whether it cures
exploding gradients), the LR factor and ceilings (the resumed run would otherwise diverge again at
the old step size) and the counters the final summary reports. Snapshots are not part of
it: the user's checkpoint is itself a good state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATE_VERSION = 1


@dataclass
class Counters:
    """How often each rung ran."""

    events: int = 0
    skipped_steps: int = 0
    quarantine_events: int = 0
    rollbacks: int = 0
    backoffs: int = 0
    clipped_steps: int = 0
    snapshots: int = 0


@dataclass
class RecoveryState:
    """Everything recovery must carry across a checkpoint."""

    quarantine: dict[str, Any] = field(default_factory=dict)  # Quarantine.to_dict()
    clip_threshold: float | None = None
    clip_cures: bool = False  # clipping is on as the cure of exploding gradients (not with a divergence)
    lr_factor: float = 1.0
    # the run's k-th optimizer -> each param group's lr ceiling (None: none); JSON keys are str
    lr_ceilings: dict[int, list[float | None]] = field(default_factory=dict)
    counters: Counters = field(default_factory=Counters)

    def to_dict(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "quarantine": self.quarantine, "clip_threshold": self.clip_threshold,
                "clip_cures": self.clip_cures, "lr_factor": self.lr_factor,
                "lr_ceilings": {str(k): list(v) for k, v in self.lr_ceilings.items()},
                "counters": asdict(self.counters)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RecoveryState":
        if int(d.get("version", 0)) != STATE_VERSION:
            raise ValueError(f"nansentry guard state version {d.get('version')!r}: this nansentry reads "
                             f"version {STATE_VERSION}; save the state again with this version")
        known = set(Counters.__dataclass_fields__)
        return cls(
            quarantine=dict(d.get("quarantine") or {}),
            clip_threshold=None if d.get("clip_threshold") is None else float(d["clip_threshold"]),
            clip_cures=bool(d.get("clip_cures", False)),
            lr_factor=float(d.get("lr_factor", 1.0)),
            lr_ceilings={int(k): [None if c is None else float(c) for c in v]
                         for k, v in (d.get("lr_ceilings") or {}).items()},
            counters=Counters(**{k: int(v) for k, v in (d.get("counters") or {}).items() if k in known}),
        )
