"""Forensic evidence about the failing step: the producing op and its inputs.

Forensics (which needs the framework) fills these; the rules (which must not)
read them. Everything is plain numbers and strings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from nansentry.records.step import _finite_or_none, _parse_float


@dataclass(frozen=True)
class TensorStats:
    """What a tensor held, enough to tell log(0) from log(-1) from an overflow.

    `n_beyond` counts finite values whose magnitude exceeds the largest finite value
    of `limit_dtype` (e.g. float16's 65504 when a float32 tensor is about to be cast).
    """

    name: str = ""
    dtype: str = ""
    shape: tuple[int, ...] = ()
    numel: int = 0
    min: float | None = None
    max: float | None = None
    absmax: float | None = None
    n_nan: int = 0
    n_posinf: int = 0
    n_neginf: int = 0
    n_zero: int = 0
    n_negative: int = 0
    n_beyond: int = 0
    n_one: int = 0  # |x| == 1 exactly: the edge of acos/asin
    requires_grad: bool | None = None  # False: computed from the data alone, no gradient flows through it

    @property
    def n_nonfinite(self) -> int:
        return self.n_nan + self.n_posinf + self.n_neginf

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shape"] = list(self.shape)
        for k in ("min", "max", "absmax"):
            d[k] = _finite_or_none(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TensorStats":
        kw = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        kw["shape"] = tuple(kw.get("shape", ()))
        for k in ("min", "max", "absmax"):
            kw[k] = _parse_float(kw.get(k))
        return cls(**kw)


@dataclass(frozen=True)
class OpEvidence:
    """The first op that produced a non-finite value from finite inputs.

    For a backward op, `op` is the forward op it differentiates (`sqrt` for
    `SqrtBackward0`), `grad_op` keeps the backward node's own name, and file/line
    point at the forward line that created it.
    """

    op: str
    phase: str
    module: str | None = None
    file: str | None = None
    line: int | None = None
    code: str | None = None
    tensor: str = "output"
    grad_op: str | None = None
    inputs: tuple[TensorStats, ...] = ()
    output: TensorStats | None = None
    dtype: str | None = None
    autocast: bool = False
    param: str | None = None
    optimizer: str | None = None
    masked_inputs: int = 0  # inputs whose -inf were judged intentional masks

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["inputs"] = [s.to_dict() for s in self.inputs]
        d["output"] = self.output.to_dict() if self.output else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "OpEvidence":
        kw = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        kw["inputs"] = tuple(TensorStats.from_dict(s) for s in d.get("inputs", []))
        kw["output"] = TensorStats.from_dict(d["output"]) if d.get("output") else None
        return cls(**kw)


@dataclass(frozen=True)
class Finding:
    """Everything forensics established about the first non-finite value.

    `reproduced` is None when no replay was attempted, False when the replay of the
    failing step did not fail again (non-determinism, hardware), True when it did.
    `batch_positions` are positions inside the batch when dataset indices are unknown.
    """

    step: int
    phase: str
    op: OpEvidence | None = None
    reproduced: bool | None = None
    bad_samples: tuple[int, ...] = ()
    batch_positions: tuple[int, ...] = ()
    data_stats: tuple[TensorStats, ...] = ()
    label_out_of_range: bool = False
    notes: tuple[str, ...] = ()
    replay_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "phase": self.phase,
            "op": self.op.to_dict() if self.op else None,
            "reproduced": self.reproduced,
            "bad_samples": list(self.bad_samples),
            "batch_positions": list(self.batch_positions),
            "data_stats": [s.to_dict() for s in self.data_stats],
            "label_out_of_range": self.label_out_of_range,
            "notes": list(self.notes),
            "replay_seconds": self.replay_seconds,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Finding":
        return cls(
            step=int(d["step"]),
            phase=d["phase"],
            op=OpEvidence.from_dict(d["op"]) if d.get("op") else None,
            reproduced=d.get("reproduced"),
            bad_samples=tuple(d.get("bad_samples", ())),
            batch_positions=tuple(d.get("batch_positions", ())),
            data_stats=tuple(TensorStats.from_dict(s) for s in d.get("data_stats", ())),
            label_out_of_range=bool(d.get("label_out_of_range", False)),
            notes=tuple(d.get("notes", ())),
            replay_seconds=d.get("replay_seconds"),
        )
