"""Budgets and cadences of the recovery ladder (`--recover auto`); no torch here.

Every rung has a budget so recovery can never hide a broken run: when a budget is
spent the ladder stops the run with the diagnosis, as `--recover off` would have.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nansentry.diagnose.dynamics import CLIP_BAND, USUAL_MAX_NORM


@dataclass(frozen=True)
class RecoveryConfig:
    """What the user can set about recovery.

    Args:
        snapshot_every: steps between good-state snapshots (CPU copies of parameters,
            buffers, optimizer, LR scheduler and GradScaler state); None: as often as
            `snapshot_overhead` allows, from the measured cost of a snapshot and of a step.
        snapshot_overhead: the share of training time snapshots may take when
            `snapshot_every` is None.
        snapshot_keep: how many snapshots to keep: the first, and the rest spread
            about 1, 2, 4, ... cadences back (`retention.retained`).
        snapshot_max_mb: memory bound for all snapshots together; None: no bound.
        max_rollbacks: rollbacks allowed in the whole run.
        backoff: the LR factor is multiplied by `backoff ** k` at the k-th rollback
            (0.5, 0.125, 0.0156...): gentle first, fast when the run keeps diverging.
        backoff_fast, fast_within: a run that diverges within `fast_within` updates of
            its start or of the last rollback was never stable at that step size: the
            factor is multiplied by `backoff_fast` (the usual hand fix, lr / 10) instead.
        clip_max_norm: the clip threshold starts here (1.0: the max_norm of the usual
            hand fix, `clip_grad_norm_(params, 1.0)`) and is moved into
            [median / clip_band, clip_band x median] of the run's healthy gradient norms;
            None: `clip_multiplier` x the median.
        clip_band: how far (a factor, either way) the threshold may lie from the median
            healthy gradient norm.
        clip_multiplier: with `clip_max_norm=None`, the clip threshold is this times the
            median gradient norm of the run's healthy steps.
        max_quarantined: samples that may be quarantined before the ladder stops
            (also at most `max_quarantined_fraction` of the dataset).
        escalate_after, escalate_window: skips (code bugs, unknown causes) in a row, or
            within the last `escalate_window` steps, before the ladder escalates to a
            rollback with a lower step size.
        quarantine_file: a quarantine list to load and apply from the first batch.
        max_investigations: events that get their own forensics and diagnosis; later
            events reuse the last diagnosis (a NaN storm costs no more than this).
    """

    snapshot_every: int | None = None
    snapshot_overhead: float = 0.02
    snapshot_keep: int = 5
    snapshot_max_mb: float | None = None
    max_rollbacks: int = 8
    backoff: float = 0.5
    backoff_fast: float = 0.1
    fast_within: int = 10
    clip_max_norm: float | None = USUAL_MAX_NORM
    clip_band: float = CLIP_BAND
    clip_multiplier: float = 1.0
    max_quarantined: int = 1000
    max_quarantined_fraction: float = 0.1
    escalate_after: int = 3
    escalate_window: int = 10
    quarantine_file: Path | None = None
    max_investigations: int = 20

    def __post_init__(self) -> None:
        if self.snapshot_every is not None and self.snapshot_every < 1:
            raise ValueError(f"snapshot_every={self.snapshot_every}: use 1 or more steps")
        if not 0.0 < self.snapshot_overhead < 1.0:
            raise ValueError(f"snapshot_overhead={self.snapshot_overhead}: a share of training time, e.g. 0.02")
        if self.snapshot_keep < 1:
            raise ValueError(f"snapshot_keep={self.snapshot_keep}: keep at least one snapshot")
        if self.clip_max_norm is not None and not self.clip_max_norm > 0.0:
            raise ValueError(f"clip_max_norm={self.clip_max_norm}: a gradient norm above 0, e.g. 1.0")
        if not self.clip_band >= 1.0:
            raise ValueError(f"clip_band={self.clip_band}: a factor of 1 or more, e.g. 10")
        if not (0.0 < self.backoff < 1.0 and 0.0 < self.backoff_fast < 1.0):
            raise ValueError(f"backoff={self.backoff}, backoff_fast={self.backoff_fast}: "
                             "choose factors between 0 and 1, e.g. 0.5 and 0.1")
