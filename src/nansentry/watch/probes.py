"""Device-side probes of one step, read back with a single host sync.

Every check of the always-on path is a small reduction left on the device as a 0-d
tensor (no `.item()`); `Probes.read()` stacks them per device and copies each stack
to the host once. On the CPU that copy is free; on a GPU it is the step's one sync.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import torch


class Probes:
    """Named groups of device scalars, read back together.

    Each `add` stacks its scalars into one 1-D tensor right away, so reading back is
    a handful of ops per step, not one per parameter.
    """

    def __init__(self) -> None:
        self._parts: list[tuple[str, torch.Tensor]] = []

    def add(self, group: str, values: Sequence[torch.Tensor]) -> None:
        if not values:
            return
        by_device: dict[torch.device, list[torch.Tensor]] = defaultdict(list)
        for v in values:
            by_device[v.device].append(v)
        for vals in by_device.values():
            if len({v.dtype for v in vals}) > 1:
                vals = [v.float() for v in vals]
            self._parts.append((group, torch.stack(vals)))

    def read(self) -> dict[str, list[float]]:
        """Copy every probe to the host: one sync per device that holds any."""
        by_device: dict[torch.device, list[torch.Tensor]] = defaultdict(list)
        for _, t in self._parts:
            # float64 keeps a finite fp32 value finite; mps has no float64
            by_device[t.device].append(t.to(torch.float32 if t.device.type == "mps" else torch.float64))
        # sync: the one device-to-host copy of this step (free on the CPU)
        host = {dev: iter(torch.cat(ts).cpu().tolist()) for dev, ts in by_device.items()}
        out: dict[str, list[float]] = defaultdict(list)
        for group, t in self._parts:
            it = host[t.device]
            out[group].extend(next(it) for _ in range(t.numel()))
        self._parts = []
        return dict(out)


def grad_tensors(params: list[torch.Tensor]) -> tuple[list[int], list[torch.Tensor]]:
    """Positions and dense values of the gradients that exist (sparse: their values)."""
    idx, grads = [], []
    for i, p in enumerate(params):
        g = p.grad
        if g is None:
            continue
        if g.is_sparse:
            g = g.coalesce()._values()
        idx.append(i)
        grads.append(g.detach())
    return idx, grads


def norms(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """L2 norm of each tensor, fused (one kernel per device/dtype group)."""
    if not tensors:
        return []
    return list(torch._foreach_norm(tensors))


def has_nonfinite(tensors: list[torch.Tensor]) -> list[bool]:
    """Exact per-tensor check, for the rare path where a norm overflowed."""
    return [not bool(torch.isfinite(t).all()) for t in tensors]
