"""A step-size factor that survives the user's LR scheduler.

A scheduler writes `group["lr"]` every step from its own value (StepLR multiplies it,
OneCycleLR and LambdaLR recompute it), so setting the learning rate once would be
undone at the next `scheduler.step()`, or compounded by it. Instead the factor is
applied for the duration of each update only: just before `optimizer.step()` runs
(`lr = user_lr x factor`) and undone right after, so the user's code and scheduler
always see and write their own value.

A factor alone does not hold under a schedule that rises (warmup, OneCycle, CyclicLR, a
per-epoch LinearLR): x0.5 at a warmup's 0.26 lets the run climb back to 0.5 and beyond,
over the step size it diverged at (held-out delivery-time MLP: 1.89x the hand fix). So
each backoff also sets a ceiling per param group: the effective lr it diverged at times
the backoff; the applied lr is min(user lr x factor, ceiling).
"""

from __future__ import annotations

from typing import Any

import torch


class LRBackoff:
    """Multiply every param group's lr by `factor` during the update only, and keep it under
    the ceiling the backoffs set."""

    def __init__(self) -> None:
        self.factor = 1.0
        # optimizer's position in the run -> the ceiling of each of its param groups (None: none)
        self.ceilings: dict[int, list[float | None]] = {}
        self._saved: dict[int, list[tuple[Any, Any]]] = {}  # id(opt) -> [(user lr, lr we set)]

    def effective(self, optimizers: list[torch.optim.Optimizer]) -> dict[int, list[float]]:
        """The lr each param group updates with now (user lr x factor, under its ceiling): read
        before a rollback puts an older scheduler state back."""
        return {k: [float(self._effective(self._user(opt, gi), self._cap(k, gi))) for gi in range(len(opt.param_groups))]
                for k, opt in enumerate(optimizers)}

    def _user(self, opt: torch.optim.Optimizer, gi: int) -> Any:
        """The user's lr of a group, also inside an update (an event raised after the update,
        before `restore`, sees the lr this class set)."""
        lr = opt.param_groups[gi]["lr"]
        saved = self._saved.get(id(opt))
        if saved is not None and gi < len(saved) and lr is saved[gi][1]:
            return saved[gi][0]
        return lr

    def lower(self, times: float, diverged_at: dict[int, list[float]] | None = None) -> float:
        """factor *= times, and each group's ceiling to `times` x the lr it diverged at
        (`effective()` at the event); returns the new factor."""
        for k, lrs in (diverged_at or {}).items():
            self.ceilings[k] = [lr * times for lr in lrs]
        self.factor *= times
        return self.factor

    def _cap(self, k: int, gi: int) -> float | None:
        caps = self.ceilings.get(k, [])
        return caps[gi] if gi < len(caps) else None

    def apply(self, opt: torch.optim.Optimizer, k: int = -1) -> None:
        """Set the lr the update uses; `k`: the optimizer's position in the run."""
        if (self.factor == 1.0 and not self.ceilings) or id(opt) in self._saved:
            return
        saved = []
        for gi, g in enumerate(opt.param_groups):
            user = g["lr"]
            g["lr"] = self._effective(user, self._cap(k, gi))
            saved.append((user, g["lr"]))
        self._saved[id(opt)] = saved

    def _effective(self, user: Any, cap: float | None) -> Any:
        lr = user * self.factor  # a tensor lr stays a tensor: no sync
        if cap is None:
            return lr
        return torch.clamp(lr, max=cap) if isinstance(lr, torch.Tensor) else min(lr, cap)

    def restore(self, opt: torch.optim.Optimizer) -> None:
        """Give the user's lr back (unless something else rewrote it during the update)."""
        saved = self._saved.pop(id(opt), None)
        if saved is None:
            return
        for g, (user, ours) in zip(opt.param_groups, saved):
            if g["lr"] is ours:
                g["lr"] = user
