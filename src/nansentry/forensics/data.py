"""Which samples of the failing step's batches hold non-finite values."""

from __future__ import annotations

from typing import Any

import torch

from nansentry.forensics.stats import tensor_stats
from nansentry.records import TensorStats
from nansentry.watch.snapshot import BatchRef
from nansentry.watch.tensors import named_float_tensors


def locate_bad_samples(batches: list[BatchRef]) -> tuple[list[int], list[int], list[TensorStats]]:
    """Dataset indices (when known) and batch positions of rows with NaN/Inf.

    A tensor's first dimension is taken as the sample dimension when it matches the
    number of indices the sampler yielded for that batch (default collation).
    Positions are global over the step's batches (gradient accumulation).
    """
    samples: set[int] = set()
    positions: set[int] = set()
    stats: list[TensorStats] = []
    offset = 0
    for bi, ref in enumerate(batches):
        named = list(named_float_tensors(ref.batch, f"batch {bi}: batch" if len(batches) > 1 else "batch"))
        tensors = [t for _, t in named]
        n = len(ref.indices) if ref.indices is not None else _batch_len(tensors)
        for name, t in named:
            bad = ~torch.isfinite(t.detach())
            if not bool(bad.any()):
                continue
            stats.append(tensor_stats(t, name=name or "batch"))
            if t.dim() == 0 or t.shape[0] != n:
                continue
            rows = bad.reshape(t.shape[0], -1).any(dim=1).nonzero().flatten().tolist()
            for r in rows:
                positions.add(offset + r)
                if ref.indices is not None and isinstance(ref.indices[r], int):
                    samples.add(int(ref.indices[r]))
        offset += n
    return sorted(samples), sorted(positions), stats


def _batch_len(tensors: list[torch.Tensor]) -> int:
    return int(tensors[0].shape[0]) if tensors and tensors[0].dim() > 0 else 1
