"""Budgets and cadences of the recovery ladder (`--recover auto`); no torch here.

Every rung has a budget so recovery can never hide a broken run: when a budget is
spent the ladder stops the run with the diagnosis, as `--recover off` would have.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RecoveryConfig:
    """What the user can set about recovery.

    Args:
        snapshot_every: steps between good-state snapshots (CPU copies of parameters,
            buffers, optimizer, LR scheduler and GradScaler state). Step 0 is always kept.
        snapshot_keep: how many snapshots to keep (the newest are kept).
        snapshot_max_mb: memory bound for all snapshots together; None: no bound.
        max_rollbacks: rollbacks allowed in the whole run.
        backoff: the LR factor is multiplied by `backoff ** k` at the k-th rollback
            (0.5, 0.125, 0.0156...): gentle first, fast when the run keeps diverging.
        clip_multiplier: the clip threshold is this times the median gradient norm of
            the run's healthy steps.
        max_quarantined: samples that may be quarantined before the ladder stops
            (also at most `max_quarantined_fraction` of the dataset).
        escalate_after: skips in a row (code bugs, unknown causes) before the ladder
            escalates to a rollback with a lower step size.
        quarantine_file: a quarantine list to load and apply from the first batch.
        max_investigations: events that get their own forensics and diagnosis; later
            events reuse the last diagnosis (a NaN storm costs no more than this).
    """

    snapshot_every: int = 50
    snapshot_keep: int = 2
    snapshot_max_mb: float | None = None
    max_rollbacks: int = 8
    backoff: float = 0.5
    clip_multiplier: float = 2.0
    max_quarantined: int = 1000
    max_quarantined_fraction: float = 0.1
    escalate_after: int = 3
    quarantine_file: Path | None = None
    max_investigations: int = 20

    def __post_init__(self) -> None:
        if self.snapshot_every < 1:
            raise ValueError(f"snapshot_every={self.snapshot_every}: use 1 or more steps")
        if self.snapshot_keep < 1:
            raise ValueError(f"snapshot_keep={self.snapshot_keep}: keep at least one snapshot")
        if not 0.0 < self.backoff < 1.0:
            raise ValueError(f"backoff={self.backoff}: choose a factor between 0 and 1, e.g. 0.5")
