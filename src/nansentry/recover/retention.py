"""When to take good states, which to keep, and which one to roll back to; no torch here.

- **Cadence**: by default a snapshot is taken as often as its measured cost allows: the
  copies may take `overhead` (2%) of training time. A tiny model is snapshotted every
  step, a large one every few dozen steps; `every=N` fixes the cadence instead.
- **Retention** (`retained`): the first state and one state per "Tower of Hanoi" class:
  snapshot n belongs to class min(trailing zeros of n, keep - 2), and the newest of each
  class is kept. The kept states then lie about 1, 2, 4, ... 2^(keep-2) cadences back, so
  a rollback can land just before a climb, or further back when the recent ones are bad.
- **Target** (`pick`): the newest state whose future was healthy: the `CONFIRM` steps
  after it (after the last rollback to it, if any) were finite, with loss and gradient
  norm within `SPIKE` x the state's own typical values. A state taken during the first
  steps of a blow-up, or one the run already failed from again, is passed over. When the
  run got worse before it failed (an older healthy state's typical loss is under `BETTER`
  x the newest's), the lowest-loss state is the target instead. When clipping is turned on
  against exploding gradients, the oldest state no worse than the run's loss now is the
  target: the unclipped steps since then bought nothing and may have done harm.
"""

from __future__ import annotations

import math
import statistics
from typing import Any, Sequence

from nansentry.recover.signals import above

CONFIRM = 3  # healthy steps after a state before it is trusted as a rollback target
SPIKE = 4.0  # a loss or gradient norm above SPIKE x the state's typical value is not healthy
BETTER = 2 / 3  # an older state is preferred when its typical loss was under 2/3 of the newest's
MAX_EVERY = 1000  # the cadence never gets sparser than this


class Cadence:
    """Steps between snapshots: fixed, or so that snapshots take `overhead` of the run's time."""

    def __init__(self, every: int | None, overhead: float) -> None:
        self.fixed = every
        self.overhead = overhead
        self._costs: list[float] = []  # seconds per snapshot, newest last

    def observe(self, seconds: float) -> None:
        self._costs = (self._costs + [seconds])[-5:]

    def every(self, step_seconds: Sequence[float]) -> int:
        """Steps between snapshots, from the recent snapshot costs and step times."""
        if self.fixed is not None:
            return self.fixed
        steps = [s for s in step_seconds if s > 0]
        if not self._costs or not steps:
            return 1
        # the cheapest recent snapshot: other work on the machine only ever inflates a timing,
        # and a spell of load must not make the cadence sparse (a rollback would go far back)
        per_step = statistics.median(steps)
        need = min(self._costs) / (self.overhead * per_step)
        return max(1, min(MAX_EVERY, math.ceil(need)))


def hanoi_class(n: int, classes: int) -> int:
    """Trailing zero bits of n (n >= 1), capped at classes - 1."""
    k = 0
    while n % 2 == 0 and k < classes - 1:
        n //= 2
        k += 1
    return k


def retained(ns: Sequence[int], keep: int) -> list[int]:
    """Which of the snapshot numbers `ns` (ascending, the newest last) to keep.

    keep = 1: the newest. Otherwise the oldest, plus the newest of each of the keep - 1
    classes of `hanoi_class` (the newest snapshot is always kept)."""
    if not ns:
        return []
    if keep == 1:
        return [ns[-1]]
    classes = keep - 1
    newest: dict[int, int] = {}
    for n in ns[1:]:
        newest[hanoi_class(n, classes) if n > 0 else classes - 1] = n
    return sorted({ns[0], *newest.values()})


def healthy_after(state: Any, records: Sequence[Any], event_step: int) -> bool:
    """The CONFIRM steps after `state.future_from` (all before `event_step`) were healthy."""
    if records and records[0].step > state.future_from + 1:
        return True  # its future has left the trace's memory: the run went on long after it
    after = [r for r in records if state.future_from < r.step < event_step][:CONFIRM]
    if len(after) < CONFIRM:
        return False
    for r in after:
        if r.nonfinite or r.loss is None or not math.isfinite(r.loss):
            return False
        if state.ref_loss is not None and above(r.loss, state.ref_loss, SPIKE):
            return False
        norm = r.grad_norm
        if norm is not None and (not math.isfinite(norm)
                                 or (state.ref_norm and norm > SPIKE * state.ref_norm)):
            return False
    return True


def pick(states: Sequence[Any], records: Sequence[Any], event_step: int,
         no_worse_than: float | None = None) -> Any | None:
    """The newest state with a healthy future, or an older healthy one whose typical loss was
    under BETTER x its (the run got worse before it failed); else the oldest there is.

    With `no_worse_than` (the run's typical loss now): the oldest healthy state whose typical
    loss was not above it, when there is one: the run made no progress since that state, so
    going back there loses nothing."""
    healthy = [s for s in states if healthy_after(s, records, event_step)]
    if not healthy:
        return states[0] if states else None
    if no_worse_than is not None:
        free = [s for s in healthy if _loss(s) <= no_worse_than]
        if free:
            return free[0]
    newest, lowest = healthy[-1], min(healthy, key=_loss)
    # "under 2/3" on the loss's own scale (a negative NLL counts too): newest - lowest > |newest| / 3
    return lowest if _loss(newest) - _loss(lowest) > (1.0 - BETTER) * abs(_loss(newest)) else newest


def _loss(state: Any) -> float:
    v = state.ref_loss
    return v if v is not None and math.isfinite(v) else math.inf
