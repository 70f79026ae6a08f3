"""Masked softmax and cross-entropy from probabilities, finite on the edge cases.

Why: a row whose every position is masked with -inf is NaN after softmax (the
max-shift computes -inf - -inf); and a cross-entropy written on probabilities
takes log(0) = -inf as soon as one probability underflows. Both ops return the
plain result on ordinary inputs.
"""

from __future__ import annotations

import torch
from torch import Tensor

from nansentry.safe.elementwise import log


def masked_softmax(x: Tensor, mask: Tensor, dim: int = -1) -> Tensor:
    """softmax of `x` over `dim` using only positions where `mask` is True.

    Masked positions get probability 0; a fully masked row is all zeros (not NaN,
    not uniform), with zero gradient. Rows with at least one kept position equal
    softmax(x.masked_fill(~mask, -inf)) exactly, gradient included.
    """
    mask = mask.to(torch.bool).expand_as(x)
    lowest = torch.finfo(x.dtype).min  # finite: exp(min - max) underflows to exactly 0
    probs = torch.softmax(x.masked_fill(~mask, lowest), dim=dim)
    return probs * mask  # fully masked rows were uniform; the mask zeroes them


def cross_entropy_from_probs(probs: Tensor, target: Tensor, reduction: str = "mean",
                             eps: float | None = None) -> Tensor:
    """Cross-entropy of probabilities `probs` (N, C, ...) against class indices or distributions.

    `target` is either class indices (N, ...) (integer dtype) or a distribution
    shaped like `probs`. Uses `safe.log`, so an exact 0 gives a large finite loss
    and the finite gradient -target/eps, and 0 * log(0) terms are 0, not NaN.
    Prefer F.cross_entropy on logits when you have them.
    """
    logp = log(probs, eps)
    if target.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        loss = -logp.gather(1, target.long().unsqueeze(1)).squeeze(1)
    else:
        loss = -(target * logp).sum(dim=1)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction={reduction!r}: use 'mean', 'sum' or 'none'")
