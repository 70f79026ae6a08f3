"""TensorStats of a live tensor (the failing step only: these reductions sync)."""

from __future__ import annotations

import torch

from nansentry.records import TensorStats



def tensor_stats(t: torch.Tensor, name: str = "", limit: torch.dtype | None = None) -> TensorStats:
    """Counts of NaN, +-inf, zeros, negatives, |x| == 1, and values beyond `limit`'s range."""
    requires_grad = t.requires_grad
    t = t.detach()
    if t.is_complex():
        t = torch.view_as_real(t)
    if not t.is_floating_point():
        t = t.to(torch.float64)
    finite = torch.isfinite(t)
    vals = t[finite].double()
    big = torch.finfo(limit).max if limit is not None else None  # only when a cast to `limit` is due
    n_beyond = int((vals.abs() > big).sum()) if big is not None and vals.numel() else 0
    return TensorStats(
        name=name,
        dtype=str(t.dtype).replace("torch.", ""),
        shape=tuple(t.shape),
        numel=t.numel(),
        min=float(vals.min()) if vals.numel() else None,
        max=float(vals.max()) if vals.numel() else None,
        absmax=float(vals.abs().max()) if vals.numel() else None,
        n_nan=int(torch.isnan(t).sum()),
        n_posinf=int((t == float("inf")).sum()),
        n_neginf=int((t == float("-inf")).sum()),
        n_zero=int((t == 0).sum()),
        n_negative=int((vals < 0).sum()),
        n_beyond=n_beyond,
        n_one=int((vals.abs() == 1).sum()),
        requires_grad=requires_grad,
    )
