"""The loss this step's batch gives under other weights: is it the weights or the batch?

Recovery asks this before it rolls a finite run back: a loss that climbed because the
weights diverged is far lower under an earlier good state's weights; a loss that is high
because the batch is hard (a burst of unusual samples) is high under those weights too.
One replay of forward and loss (no backward), on a suspicious step only.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch

from nansentry.forensics.replay import Unreplayable, replay_step
from nansentry.forensics.tracer import Tracer


def loss_under(engine: Any, values: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> float | None:
    """The step's loss replayed with each live tensor set to its value (then put back).

    inf when the replay itself meets a non-finite value; None when the step cannot be
    replayed (no recorded loss ops, a recorded tensor gone)."""
    snap = engine.snapshot
    if not snap.root_calls or not snap.loss_ops:
        return None
    saved = [(live, live.detach().clone()) for live, _ in values]
    try:
        with torch.no_grad():
            for live, v in values:
                live.copy_(v)
        rep = replay_step(engine, snap, Tracer(), backward=False)
    except Unreplayable:
        return None
    finally:
        with torch.no_grad():
            for live, v in saved:
                live.copy_(v)
    if rep.tracer.first is not None:
        return math.inf
    if rep.note is not None or not rep.losses:
        return None
    return float(sum(t.detach().float().sum() for t in rep.losses))
