"""The recovery ladder: from the evidence of one non-finite step to what to do.

Pure decisions (no torch), so every rung is testable on synthetic evidence. The
evidence picks the rung (dirty data -> quarantine; exploding gradients -> clip;
divergence -> roll back and lower the step size, and clip for a too-large step; a code
bug -> skip, which keeps the run alive but fixes nothing); repeated failures climb the
ladder; a spent budget stops the run with the diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nansentry.recover.config import RecoveryConfig

# Causes whose cure is a smaller step from an earlier state (the weights already moved).
DIVERGENCE = frozenset({"learning_rate_too_high", "unscaled_data", "bad_initialization"})
# Causes whose cure includes clipping: a too-large step and exploding gradients leave the same
# trace (loss and gradient norm blowing up together), so a step-size diagnosis is cured both ways,
# as a divergence caught while finite is (held-out Meta-SGD: 1.93x without the clip, 0.98x with).
CLIPPED = frozenset({"exploding_gradients", "learning_rate_too_high"})
# Causes that are a bug in the user's code: skipping keeps the run alive, only the code fix cures.
CODE_BUGS = frozenset({"log_of_zero", "invalid_domain", "division_by_zero", "singular_gradient",
                       "exp_overflow", "fp16_overflow"})


@dataclass(frozen=True)
class Evidence:
    """What is known about one non-finite step when the ladder decides."""

    step: int
    phase: str
    root_cause: str = "unknown"
    bad_samples: tuple[int, ...] = ()
    positions: tuple[int, ...] = ()  # batch positions that alone produce it, when no dataset index is known
    applied: bool = False  # the update already happened (optimizer phase): skipping is too late
    skippable: bool = True  # False when the step cannot be held back (already skipped by a GradScaler)
    in_row: int = 1  # non-finite steps in a row, this one included
    in_window: int = 1  # non-finite steps among the last `escalate_window` (since the last rollback)
    soon_after_rollback: bool = False  # within 2 x `escalate_window` steps of the last rollback
    has_good_state: bool = False
    clip_ready: bool = False  # enough healthy gradient norms to derive a threshold
    clipping: bool = False
    quarantined: int = 0
    quarantine_room: int = 0  # how many more samples may be quarantined
    rollbacks: int = 0
    diverging: bool = False  # the trace shows the loss or gradient norm climbing before this step


@dataclass(frozen=True)
class Plan:
    """The actions for one event, in the order they run; `stop` overrides the rest."""

    skip: bool = False
    quarantine: tuple[int, ...] = ()
    clip: bool = False
    rollback: bool = False
    backoff: bool = False
    stop: str | None = None  # why the ladder is spent
    reasons: tuple[str, ...] = field(default=())


def decide(ev: Evidence, cfg: RecoveryConfig) -> Plan:
    """Choose the rung for `ev`; budgets come from `cfg`."""
    if ev.applied:
        return _after_update(ev, cfg)
    if ev.bad_samples:
        if len(ev.bad_samples) <= ev.quarantine_room:
            return Plan(skip=True, quarantine=ev.bad_samples,
                        reasons=(f"samples {list(ev.bad_samples)} alone produce the value",))
        return Plan(stop=f"quarantine budget spent ({ev.quarantined} samples quarantined, "
                         f"{len(ev.bad_samples)} more would exceed it): the data needs cleaning")
    if ev.root_cause == "exploding_gradients" and not ev.clipping and ev.clip_ready:
        # the last (unclipped) updates already moved the weights far: return to a good state, clip from there
        if ev.has_good_state and ev.rollbacks < cfg.max_rollbacks:
            return Plan(skip=ev.skippable, clip=True, rollback=True,
                        reasons=("gradient norm exploded: roll back and clip from now on",))
        return Plan(skip=ev.skippable, clip=True, reasons=("gradient norm exploded: clip from now on",))
    if ev.root_cause in DIVERGENCE or ev.root_cause == "exploding_gradients" or ev.diverging:
        return _roll_back(ev, cfg, skip=True)
    if ev.in_row > cfg.escalate_after or ev.in_window > cfg.escalate_after or ev.soon_after_rollback:
        # skipping did not help (failures in a row, coming back within a few steps, or soon
        # after a rollback): the weights went bad. With the rollback budget spent, skip again
        # (`max_skips` in a row still stops a run that cannot go on).
        if ev.rollbacks < cfg.max_rollbacks or not ev.has_good_state:
            return _roll_back(ev, cfg, skip=True)
    why = ("skipping keeps the run alive but is not a fix" if ev.root_cause in CODE_BUGS
           else "non-finite step skipped")
    if ev.positions and not ev.bad_samples:
        why = (f"batch positions {list(ev.positions)} alone produce it, but the batch carries no dataset "
               f"indices (an IterableDataset or batches made by hand): they cannot be quarantined"
               + (f"; {why}" if ev.root_cause in CODE_BUGS else ""))
    return Plan(skip=ev.skippable, reasons=(why,))


def _after_update(ev: Evidence, cfg: RecoveryConfig) -> Plan:
    plan = _roll_back(ev, cfg, skip=False)
    if plan.stop is None:
        return plan
    return Plan(stop="the update already wrote non-finite parameters and " + plan.stop)


def _roll_back(ev: Evidence, cfg: RecoveryConfig, skip: bool) -> Plan:
    if not ev.has_good_state:
        if ev.applied:
            return Plan(stop="there is no good state to roll back to")
        # nothing to return to yet (memory bound): hold the step back and lower the step size
        return Plan(skip=ev.skippable, backoff=ev.rollbacks < cfg.max_rollbacks,
                    reasons=("no good state kept: step skipped, step size lowered",))
    if ev.rollbacks >= cfg.max_rollbacks:
        return Plan(stop=f"rollback budget spent ({ev.rollbacks} rollbacks)")
    # not for unscaled data or a bad init: the data or model needs changing, not the gradient bounded
    clip = ev.root_cause in CLIPPED and ev.clip_ready and not ev.clipping
    return Plan(skip=skip and ev.skippable, rollback=True, backoff=True, clip=clip,
                reasons=(f"{'diverging' if ev.diverging else ev.root_cause}: roll back to the last good state and lower the step size",))
