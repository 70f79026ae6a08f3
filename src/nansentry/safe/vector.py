"""Safe norm, normalize and cosine similarity: a zero vector gives 0, not NaN.

Why: the gradient of sqrt(sum(x^2)) at x = 0 is 0 * inf = NaN, and x / ||x|| is
0/0. These build on `safe.sqrt` and `safe.div`, so a zero vector has norm 0,
normalises to the zero vector and has cosine 0 with anything, all with finite
(zero) gradients; away from zero everything equals the plain formula.
"""

from __future__ import annotations

from torch import Tensor

from nansentry.safe.elementwise import div, sqrt


def norm(x: Tensor, dim: int = -1, keepdim: bool = False) -> Tensor:
    """Euclidean norm over `dim`; 0 with gradient 0 for a zero vector."""
    return sqrt((x * x).sum(dim=dim, keepdim=keepdim))


def normalize(x: Tensor, dim: int = -1) -> Tensor:
    """x / ||x|| over `dim`; the zero vector maps to itself with gradient 0.

    F.normalize(x, eps=1e-12) differs only for norms under eps, where it returns
    x / eps and a gradient of 1/eps (1e12) instead of 0.
    """
    return div(x, norm(x, dim=dim, keepdim=True))


def cosine_similarity(a: Tensor, b: Tensor, dim: int = -1) -> Tensor:
    """<a, b> / (||a|| ||b||); 0 (gradient 0) when either vector is zero.

    The result may exceed 1 by a rounding error: feed it to `safe.acos`, not `torch.acos`.
    """
    return div((a * b).sum(dim=dim), norm(a, dim=dim) * norm(b, dim=dim))
