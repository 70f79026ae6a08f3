"""Dispatch a failing step to the right instrument for its phase."""

from __future__ import annotations

import time
from typing import Any

from nansentry.forensics.data import locate_bad_samples
from nansentry.records import Finding


def investigate(engine: Any, step: int, phase: str, detail: Any) -> Finding:
    """Establish what the failing step's snapshot shows about the first non-finite value."""
    t0 = time.perf_counter()
    snap = engine.snapshot
    if phase == "data":
        samples, positions, stats = locate_bad_samples(snap.batches)
        return Finding(step=step, phase=phase, bad_samples=tuple(samples), batch_positions=tuple(positions),
                       data_stats=tuple(stats), reproduced=True, replay_seconds=time.perf_counter() - t0)
    return Finding(step=step, phase=phase, reproduced=None,
                   notes=("op-level replay not available for this phase yet",),
                   replay_seconds=time.perf_counter() - t0)
