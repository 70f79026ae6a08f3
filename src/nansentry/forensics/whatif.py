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
from nansentry.forensics.standins import stand_ins
from nansentry.forensics.tracer import Tracer


def loss_under(engine: Any, values: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> float | None:
    """The step's loss replayed with each live tensor standing in at its value.

    inf when the replay itself meets a non-finite value; None when the step cannot be
    replayed (no recorded loss ops, a recorded tensor gone)."""
    snap = engine.snapshot
    if not snap.root_calls or not snap.loss_ops:
        return None
    modules = list({id(c.module): c.module for c in snap.root_calls}.values())
    try:
        with stand_ins(modules, values):  # the user's tensors are never written
            rep = replay_step(engine, snap, Tracer(), backward=False)
    except Unreplayable:
        return None
    if rep.tracer.first is not None:
        return math.inf
    if rep.note is not None or not rep.losses:
        return None
    return float(sum(t.detach().float().sum() for t in rep.losses))
