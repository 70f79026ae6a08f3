"""Finding the floating-point tensors inside whatever a loop passes around.

Batches and model outputs come as tensors, tuples, lists, dicts, namedtuples or
dataclasses (e.g. Hugging Face ModelOutput); integer and bool tensors are skipped
since they cannot hold NaN.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator

import torch


def iter_float_tensors(obj: Any) -> Iterator[torch.Tensor]:
    """Yield every floating (or complex) tensor in a nested structure, in order."""
    for _, t in named_float_tensors(obj, None):
        yield t


def named_float_tensors(obj: Any, name: str | None = "batch", _depth: int = 0) -> Iterator[tuple[str | None, torch.Tensor]]:
    """(path, tensor) for every floating (or complex) tensor: `batch['features']`, `batch[1]`,
    `batch.x` (a namedtuple's or dataclass's field). `name=None` builds no paths (hot path)."""
    if isinstance(obj, torch.Tensor):
        if (obj.is_floating_point() or obj.is_complex()) and obj.numel() > 0:
            yield name, obj
        return
    if _depth > 6 or isinstance(obj, (str, bytes, int, float, bool, type(None))):
        return
    if isinstance(obj, dict):
        children: Any = obj.items()
        fmt = "[{!r}]"
    elif isinstance(obj, tuple) and hasattr(obj, "_fields"):
        children, fmt = ((f, getattr(obj, f)) for f in obj._fields), ".{}"
    elif isinstance(obj, (list, tuple)):
        children, fmt = enumerate(obj), "[{}]"
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        children, fmt = ((f.name, getattr(obj, f.name, None)) for f in dataclasses.fields(obj)), ".{}"
    else:
        return
    for key, v in children:  # a path is formatted only when one is asked for
        yield from named_float_tensors(v, None if name is None else name + fmt.format(key), _depth + 1)


def device_minmax(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """min and max of each tensor as float32 0-d tensors, on its device, no sync.

    NaN propagates through aminmax, so a NaN anywhere makes both NaN; an inf shows
    as +-inf. One fused pass per tensor (cheaper than abs().amax(): no temporary).
    """
    out: list[torch.Tensor] = []
    for t in tensors:
        t = t.detach()
        if t.is_complex():
            t = torch.view_as_real(t)
        lo, hi = torch.aminmax(t)
        out.append(lo.float())
        out.append(hi.float())
    return out
