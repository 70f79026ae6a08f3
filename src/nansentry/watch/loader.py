"""DataLoader instrumentation: every batch it yields, with its dataset indices.

The main process draws indices from the sampler in every DataLoader mode (workers
only fetch), so `_next_index` is where they are recorded; a FIFO per iterator matches
them to batches as they come back, prefetching included (batches come back in
order unless `in_order=False`, in which case indices are reported as unknown).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

from torch.utils.data import dataloader as _dl

_Iter = _dl._BaseDataLoaderIter


def _indices_known(it: Any) -> bool:
    if it._dataset_kind != _dl._DatasetKind.Map:
        return False  # IterableDataset: the sampler yields no indices
    return bool(getattr(it, "_in_order", True))


def _as_list(idx: Any) -> list[Any]:
    return list(idx) if isinstance(idx, (list, tuple)) else [idx]


_index_filters: list[Callable[[Any, Any], Any]] = []


def add_index_filter(fn: Callable[[Any, Any], Any]) -> Callable[[], None]:
    """Filter the indices a DataLoader draws (recovery's quarantine); return the undo.

    `fn(iterator, idx)` returns `idx` (an index or a batch of them) without the excluded
    ones, or None to draw again; it runs in the main process, before workers see the
    indices, so shuffling, custom (batch) samplers and workers all go through it.
    Active only while `patch_dataloader` is installed; map-style datasets only.
    """
    _index_filters.append(fn)
    return lambda: _index_filters.remove(fn) if fn in _index_filters else None


def _draw(self: Any, orig_index: Callable[[Any], Any]) -> Any:
    idx = orig_index(self)
    if not _index_filters or self._dataset_kind != _dl._DatasetKind.Map:
        return idx
    while True:  # StopIteration at the end of the sampler ends the epoch as usual
        kept: Any = idx
        for fn in _index_filters:
            kept = fn(self, kept) if kept is not None else None
        if kept is not None:
            return kept
        idx = orig_index(self)


def patch_dataloader(on_batch: Callable[[Any, list[Any] | None], None]) -> Callable[[], None]:
    """Route every batch to `on_batch(batch, indices)`; return the undo function."""
    orig_next, orig_index, orig_reset = _Iter.__next__, _Iter._next_index, _Iter._reset

    def _next_index(self: Any) -> Any:
        idx = _draw(self, orig_index)
        self.__dict__.setdefault("_nansentry_fifo", deque()).append(idx)
        return idx

    def _reset(self: Any, *args: Any, **kwargs: Any) -> Any:
        self.__dict__["_nansentry_fifo"] = deque()
        return orig_reset(self, *args, **kwargs)

    def __next__(self: Any) -> Any:
        batch = orig_next(self)
        fifo = self.__dict__.get("_nansentry_fifo")
        idx = fifo.popleft() if fifo else None
        indices = _as_list(idx) if idx is not None and _indices_known(self) else None
        on_batch(batch, indices)
        return batch

    _Iter.__next__, _Iter._next_index, _Iter._reset = __next__, _next_index, _reset  # type: ignore[method-assign]

    def undo() -> None:
        _Iter.__next__, _Iter._next_index, _Iter._reset = orig_next, orig_index, orig_reset  # type: ignore[method-assign]

    return undo
