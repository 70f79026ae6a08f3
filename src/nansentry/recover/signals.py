"""What the step trace says about a run: pure functions of trace records (no torch).

Records carry `step`, `loss`, `grad_norm`, `skipped`, `nonfinite`. The shapes told apart:
a healthy step (no spike against the recent median), a run diverging (its last losses far
above its earlier median), exploding gradients (the norm far above its early median), and
a cliff (loss and norm jumped in one step from a healthy one, rather than climbing step
by step, as a step size too large makes them), and a norm-led blow-up (the gradient jumped
first, under a calm loss, and the loss followed).
"""

from __future__ import annotations

import math
import statistics
from typing import Any

SPIKE = 4.0  # a loss above SPIKE x the recent median is not a good state to return to
RECENT = 16  # steps of history behind that median
EXPLODED = 100.0  # gradient norm this far above its early median: exploding gradients
DIVERGED = 10.0  # a loss above DIVERGED x the good state's typical loss: the run is diverging


def above(value: float, ref: float, factor: float) -> bool:
    """`value` is more than `factor` x `ref`, read on the loss's own scale: `value - ref` exceeds
    `(factor - 1) x |ref|`. The same as `value > factor x ref` for a positive ref, and still
    right for a loss that is negative (a Poisson or Gaussian NLL without its constant, a
    policy-gradient surrogate), where `-14.9 > 10 x -14.5` would call a better loss a blow-up."""
    return value - ref > (factor - 1.0) * abs(ref) + 1e-12


def is_good(record: Any, history: list[Any]) -> bool:
    """A healthy step, and neither its loss nor its gradient norm a spike."""
    for key in ("loss", "grad_norm"):
        v = getattr(record, key)
        if v is None:
            continue
        if not math.isfinite(v):
            return False
        past = [getattr(r, key) for r in history if not r.nonfinite and getattr(r, key) is not None]
        past = [p for p in past if math.isfinite(p)]
        if len(past) >= 3 and above(v, statistics.median(past), SPIKE):
            return False
    return True


def alive(records: list[Any], since: int) -> list[Any]:
    """Healthy records with a finite loss after step `since`."""
    return [r for r in records if r.step > since and not r.skipped and not r.nonfinite
            and r.loss is not None and math.isfinite(r.loss)]


def diverging(records: list[Any]) -> bool:
    """The last losses are DIVERGED x above the run's earlier median (climbing to the blow-up)."""
    losses = [r.loss for r in records]
    if len(losses) < 4:
        return False
    past, recent = losses[:-3], losses[-3:]
    return above(max(recent), statistics.median(past), DIVERGED)


def cliff(records: list[Any]) -> bool:
    """The last record jumped from a healthy one: the record before it was no spike against
    the RECENT ones before that (a run diverging step by step climbs over several records)."""
    if len(records) < 6:
        return False
    return is_good(records[-2], records[-2 - RECENT:-2])


def norm_led(records: list[Any]) -> bool:
    """The blow-up began with the gradient: at the first step of the final unhealthy stretch
    the norm jumped EXPLODED x above its recent median while the loss was still within SPIKE x
    its own (a step size too large makes the loss and the norm climb together)."""
    onset = len(records)
    while onset > 1 and not is_good(records[onset - 1], records[max(0, onset - 1 - RECENT):onset - 1]):
        onset -= 1
    if onset >= len(records):
        return False  # the last record is healthy: no blow-up under way
    r, hist = records[onset], records[max(0, onset - RECENT):onset]
    norms = [h.grad_norm for h in hist if h.grad_norm is not None and math.isfinite(h.grad_norm)]
    losses = [h.loss for h in hist if h.loss is not None and math.isfinite(h.loss)]
    if len(norms) < 5 or len(losses) < 5 or r.grad_norm is None or r.loss is None:
        return False
    return r.grad_norm > EXPLODED * statistics.median(norms) and not above(r.loss, statistics.median(losses), SPIKE)


def improved(records: list[Any], first: int = 5) -> bool:
    """The loss came down: the median of the last RECENT losses is below that of the first
    `first` (True with under 2 x `first` records: too little history to say it did not)."""
    losses = [r.loss for r in records]
    if len(losses) < 2 * first:
        return True
    return statistics.median(losses[-RECENT:]) < statistics.median(losses[:first])


def exploding(records: list[Any]) -> bool:
    """The gradient norm of the last steps is 100x above the early median (needs 4+ steps)."""
    norms = [r.grad_norm for r in records if r.grad_norm is not None and math.isfinite(r.grad_norm)]
    if len(norms) < 4:
        return False
    early = statistics.median(norms[: max(2, len(norms) // 2)])
    return max(norms[-2:]) > EXPLODED * early
