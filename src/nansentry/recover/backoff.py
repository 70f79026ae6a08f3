"""A step-size factor that survives the user's LR scheduler.

A scheduler writes `group["lr"]` every step from its own value (StepLR multiplies it,
OneCycleLR and LambdaLR recompute it), so setting the learning rate once would be
undone at the next `scheduler.step()`, or compounded by it. Instead the factor is
applied for the duration of each update only: just before `optimizer.step()` runs
(`lr = user_lr x factor`) and undone right after, so the user's code and scheduler
always see and write their own value.
"""

from __future__ import annotations

from typing import Any

import torch


class LRBackoff:
    """Multiply every param group's lr by `factor` during the update only."""

    def __init__(self) -> None:
        self.factor = 1.0
        self._saved: dict[int, list[tuple[Any, Any]]] = {}  # id(opt) -> [(user lr, lr we set)]

    def lower(self, times: float) -> float:
        """factor *= times; returns the new factor."""
        self.factor *= times
        return self.factor

    def apply(self, opt: torch.optim.Optimizer) -> None:
        if self.factor == 1.0 or id(opt) in self._saved:
            return
        saved = []
        for g in opt.param_groups:
            user = g["lr"]
            g["lr"] = user * self.factor  # a tensor lr stays a tensor: no sync
            saved.append((user, g["lr"]))
        self._saved[id(opt)] = saved

    def restore(self, opt: torch.optim.Optimizer) -> None:
        """Give the user's lr back (unless something else rewrote it during the update)."""
        saved = self._saved.pop(id(opt), None)
        if saved is None:
            return
        for g, (user, ours) in zip(opt.param_groups, saved):
            if g["lr"] is ours:
                g["lr"] = user
