"""Facts about the run that the rules need beyond the step trace."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunInfo:
    """The training setup as the watcher saw it.

    `modules` lists top-level module paths in registration order (the order the
    per-module gradient norms of the trace are keyed by); `optimizers` holds one dict
    per optimizer: its class name, lr, eps and whether it was seen stepping.
    """

    script: str | None = None
    optimizers: tuple[dict[str, Any], ...] = ()
    modules: tuple[str, ...] = ()
    n_params: int = 0
    param_dtypes: tuple[str, ...] = ()
    autocast_dtype: str | None = None
    grad_scaler: bool = False
    clip_grad_norm: float | None = None
    has_dataloader: bool = False
    recover: str = "off"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["optimizers"] = list(self.optimizers)
        d["modules"] = list(self.modules)
        d["param_dtypes"] = list(self.param_dtypes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunInfo":
        kw = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        for k in ("optimizers", "modules", "param_dtypes"):
            kw[k] = tuple(kw.get(k, ()))
        return cls(**kw)
