"""Gradient clipping switched on at run time, with a threshold the run's own norms bound.

The threshold starts from the max_norm most hand fixes use (`clip_grad_norm_(params, 1.0)`)
and is moved into the band the run's healthy steps allow: within `band` (10) x of their
median gradient norm either way (the median ignores the few exploding steps at the end).
Below the band every healthy step would shrink more than 10x (learning stalls); above
it the threshold would only bind once a blow-up is under way. Without an anchor the
threshold is `multiplier x` the median. Clipping reuses the global norm the engine
already read back for the step, so it adds no host sync: one `_foreach_mul_` over the
gradients when the norm is above the threshold. A norm that overflowed float32 on
finite gradients (inf) is recomputed in float64 and clipped too.
"""

from __future__ import annotations

import math
import statistics
from typing import Iterable

import torch

from nansentry.diagnose.dynamics import clip_norm

MIN_HISTORY = 3  # healthy steps needed before a threshold means anything


def threshold_from(norms: Iterable[float | None], multiplier: float, anchor: float | None = None,
                   band: float = 10.0) -> float | None:
    """`anchor` moved into [median / band, band x median] of the finite, positive norms, or
    `multiplier x median` without an anchor; None with too little history."""
    vals = [v for v in norms if v is not None and math.isfinite(v) and v > 0]
    if len(vals) < MIN_HISTORY:
        return None
    median = statistics.median(vals)
    if anchor is None:
        return multiplier * median
    return clip_norm(median, anchor, band)


class Clipper:
    """Clip the global gradient norm to `threshold` (None: off)."""

    def __init__(self) -> None:
        self.threshold: float | None = None
        self.clipped_steps = 0

    def clip_(self, grads: list[torch.Tensor], grad_norm: float | None) -> float | None:
        """Scale `grads` in place if their norm (already known) exceeds the threshold.

        Returns the factor applied, or None when nothing was done. Same arithmetic as
        `torch.nn.utils.clip_grad_norm_` (max_norm / (norm + 1e-6)).
        """
        if self.threshold is None or grad_norm is None or not grads:
            return None
        if math.isinf(grad_norm):  # a float32 norm overflowed on finite gradients: redo it in float64
            grad_norm = norm64(grads)  # (one sync, on such steps only)
        if not math.isfinite(grad_norm) or grad_norm <= self.threshold:
            return None
        factor = self.threshold / (grad_norm + 1e-6)
        torch._foreach_mul_(grads, factor)  # no sync: the norm is the step's record
        self.clipped_steps += 1
        return factor


def norm64(grads: list[torch.Tensor]) -> float:
    """The global norm in float64, for gradients whose float32 norm overflows."""
    return math.sqrt(sum(float(torch.linalg.vector_norm(g, dtype=torch.float64)) ** 2 for g in grads))
