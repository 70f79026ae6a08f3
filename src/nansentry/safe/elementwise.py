"""Safe log, div, sqrt and acos: finite forward and backward at the edge, exact elsewhere.

Why not clamp the input? `log(clamp(p, 1e-8))` is finite, but clamp's gradient is 0
below 1e-8, so a probability that hit 0 never gets pushed back up: the loss is a
fake (seed 003). These ops keep the plain op's value and gradient away from the
edge and, at the edge, give a finite value with a finite, *non-dead* gradient
where one exists (log, acos) or the conventional 0 where the maths has none
(sqrt at 0, x/0).

The "double where" used below: `where(ok, f(where(ok, x, 1)), fallback)`. The inner
where keeps f's input in its domain so f's backward is finite everywhere; the
outer where picks the result. A single where is not enough: autograd
differentiates both branches and 0 * inf = NaN.
"""

from __future__ import annotations

import torch
from torch import Tensor


def default_eps(dtype: torch.dtype) -> float:
    """sqrt(smallest normal) of `dtype`: 1.1e-19 in float32, 7.8e-3 in float16.

    Small enough to leave every realistic value on the exact branch, large enough
    that 1/eps (the gradient there) stays finite when multiplied by the chain rule.
    """
    return torch.finfo(dtype).tiny ** 0.5


def log(x: Tensor, eps: float | None = None) -> Tensor:
    """log(x) for x >= eps; below, its tangent line at eps (value log(eps) + (x - eps)/eps).

    At x = 0 (a saturated softmax or sigmoid) the value is log(eps) - 1, finite,
    and the gradient is 1/eps: still pushing x up, unlike log(clamp(x, eps)),
    whose gradient there is 0. Continuous with a continuous first derivative.

        >>> log(torch.tensor([0.0, 1.0]))
        tensor([-44.6683,   0.0000])
    """
    e = default_eps(x.dtype) if eps is None else eps
    ok = x >= e
    exact = torch.log(torch.where(ok, x, torch.ones_like(x)))
    return torch.where(ok, exact, (x - e) / e + torch.log(torch.tensor(e, dtype=x.dtype, device=x.device)))


def div(a: Tensor, b: Tensor) -> Tensor:
    """a / b, with a / 0 defined as 0 (value and gradients), like tf.math.divide_no_nan.

    Where b == 0 both gradients are 0; elsewhere they are the plain 1/b and -a/b^2.
    """
    nz = b != 0
    return torch.where(nz, a / torch.where(nz, b, torch.ones_like(b)), torch.zeros((), dtype=a.dtype, device=a.device))


def sqrt(x: Tensor) -> Tensor:
    """sqrt(x) for x > 0, 0 for x <= 0, with gradient 0 there instead of inf / NaN.

    Zero at 0 is the subgradient PyTorch's own norm uses; a negative input (e.g. a
    variance computed as E[x^2] - E[x]^2 rounding below 0) is treated as 0.
    """
    pos = x > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, x, torch.ones_like(x))), torch.zeros_like(x))


class _Acos(torch.autograd.Function):
    """acos with its slope -1/sqrt(1 - x^2) capped at -1/sqrt(eps) near +-1."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: Tensor, eps: float) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.eps = eps  # type: ignore[attr-defined]
        return torch.acos(x.clamp(-1.0, 1.0))  # nansentry: ignore[NS106] backward below is bounded

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return -grad / torch.sqrt((1 - x * x).clamp(min=ctx.eps)), None  # type: ignore[attr-defined]


def acos(x: Tensor, eps: float | None = None) -> Tensor:
    """acos(x) with a finite, non-zero gradient at and beyond +-1.

    The value is acos(clamp(x, -1, 1)) (0 or pi past the ends, as a rounded cosine
    of 1.0000001 should give). The gradient is exact where 1 - x^2 > eps and is
    -1/sqrt(eps) beyond (about -2900 in float32): bounded, and still pointing back
    into the domain, whereas clamping the input zeroes it. `eps` defaults to the
    dtype's machine epsilon.
    """
    e = torch.finfo(x.dtype).eps if eps is None else eps
    return _Acos.apply(x, e)
