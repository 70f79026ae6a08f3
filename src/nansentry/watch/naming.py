"""Names of parameters and the module groups their gradient norms are summed by."""

from __future__ import annotations

import math
import weakref

import torch

GROUP_DEPTH = 2  # "body.3.attn.qkv.weight" is reported under "body.3"


def group_of(name: str) -> str:
    """The module group of a parameter: its owning module, cut to GROUP_DEPTH parts."""
    parts = name.split(".")[:-1]
    return ".".join(parts[:GROUP_DEPTH]) if parts else "(root)"


class ParamNames:
    """Dotted parameter names, learnt from the root modules seen in forward calls."""

    def __init__(self) -> None:
        self._roots: "weakref.WeakSet[torch.nn.Module]" = weakref.WeakSet()
        self._names: dict[int, str] = {}
        self._groups: dict[int, list[str]] = {}  # id(optimizer) -> group per param
        self._opt_index: dict[int, int] = {}
        self.modules: list[str] = []  # groups in registration order

    def add_root(self, module: torch.nn.Module) -> None:
        if module in self._roots:
            return
        self._roots.add(module)
        for name, p in module.named_parameters(remove_duplicate=True):
            self._names.setdefault(id(p), name)
            g = group_of(name)
            if g not in self.modules:
                self.modules.append(g)
        self._groups.clear()

    def add_optimizer(self, opt: torch.optim.Optimizer, index: int) -> None:
        self._opt_index[id(opt)] = index

    def name(self, opt: torch.optim.Optimizer, i: int, p: torch.Tensor) -> str:
        """The parameter's dotted name, or `opt0.group0[3]` when no module owns it."""
        n = self._names.get(id(p))
        if n is not None:
            return n
        k = 0
        for gi, g in enumerate(opt.param_groups):
            if i < k + len(g["params"]):
                return f"opt{self._opt_index.get(id(opt), 0)}.group{gi}[{i - k}]"
            k += len(g["params"])
        return f"param[{i}]"

    def group_norms(self, opt: torch.optim.Optimizer, gidx: list[int], gvals: list[float]) -> dict[str, float]:
        """L2 norm of the gradients per module group, from per-parameter norms."""
        groups = self._groups.get(id(opt))
        if groups is None:
            params = [p for g in opt.param_groups for p in g["params"]]
            groups = [group_of(self.name(opt, i, p)) if id(p) in self._names else "(unnamed)" for i, p in enumerate(params)]
            self._groups[id(opt)] = groups
        sq: dict[str, float] = {}
        for i, v in zip(gidx, gvals):
            g = groups[i] if i < len(groups) else "(unnamed)"
            sq[g] = sq.get(g, 0.0) + v * v
        return {g: math.sqrt(s) if math.isfinite(s) else s for g, s in sq.items()}
