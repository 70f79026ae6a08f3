"""One optimizer step as the always-on watcher saw it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


def _finite_or_none(x: float | None) -> float | str | None:
    """JSON has no NaN/Inf: write them as strings so a trace stays valid JSON."""
    if x is None or math.isfinite(x):
        return x
    return str(x)  # "nan", "inf", "-inf"


def _parse_float(x: Any) -> float | None:
    return None if x is None else float(x)


@dataclass(frozen=True)
class StepRecord:
    """Scalars of one optimizer step; all reductions were done on the device.

    `module_grad_norms` maps a top-level module path (or "" for parameters of the root)
    to the L2 norm of its gradients; `batch_absmax` holds max |x| of each floating
    tensor of the step's batches (inputs and targets, in batch order), the evidence for
    `unscaled_data`. `phase` is set on the step where a non-finite value appeared.
    """

    step: int
    loss: float | None = None
    grad_norm: float | None = None
    param_norm: float | None = None
    update_ratio: float | None = None
    lr: float | None = None
    wall_time: float = 0.0
    module_grad_norms: dict[str, float] = field(default_factory=dict)
    batch_absmax: list[float] = field(default_factory=list)
    output_absmax: float | None = None
    nonfinite: bool = False
    phase: str | None = None
    skipped: bool = False
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("loss", "grad_norm", "param_norm", "update_ratio", "lr", "output_absmax"):
            d[k] = _finite_or_none(d[k])
        d["module_grad_norms"] = {k: _finite_or_none(v) for k, v in self.module_grad_norms.items()}
        d["batch_absmax"] = [_finite_or_none(v) for v in self.batch_absmax]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "StepRecord":
        fields = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in d.items() if k in fields}
        for k in ("loss", "grad_norm", "param_norm", "update_ratio", "lr", "output_absmax"):
            kw[k] = _parse_float(kw.get(k))
        kw["module_grad_norms"] = {k: float(v) for k, v in d.get("module_grad_norms", {}).items()}
        kw["batch_absmax"] = [float(v) for v in d.get("batch_absmax", [])]
        return cls(**kw)
