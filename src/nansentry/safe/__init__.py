"""`nansentry.safe`: PyTorch ops finite in forward *and* backward at their edges.

Why: the usual fixes (clamping the input of log, adding 1e-8 somewhere, a single
`torch.where`) either leave an infinite gradient or kill the gradient. Each op
here equals the plain op, value and gradient, away from its edge, and is finite
at it: log at 0, sqrt and norm at 0, normalize and cosine similarity of a zero
vector, acos at +-1, division by 0, cross-entropy of exact-zero probabilities,
softmax over a fully masked row. See docs/safe.md for each edge's semantics.

    >>> import torch
    >>> from nansentry import safe
    >>> p = torch.tensor([0.0, 1.0], requires_grad=True)
    >>> safe.log(p).sum().backward(); bool(torch.isfinite(p.grad).all())
    True
"""

from __future__ import annotations

from nansentry.safe.elementwise import acos, default_eps, div, log, sqrt
from nansentry.safe.softmax import cross_entropy_from_probs, masked_softmax
from nansentry.safe.vector import cosine_similarity, norm, normalize

__all__ = ["acos", "cosine_similarity", "cross_entropy_from_probs", "default_eps", "div", "log",
           "masked_softmax", "norm", "normalize", "sqrt"]
