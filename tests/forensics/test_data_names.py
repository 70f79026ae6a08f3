"""The data evidence names the batch entry that held the NaN the way the user's code reads it."""

from __future__ import annotations

from collections import namedtuple

import torch

from nansentry.forensics.data import locate_bad_samples
from nansentry.watch.snapshot import BatchRef
from nansentry.watch.tensors import iter_float_tensors, named_float_tensors

Pair = namedtuple("Pair", "x y")


def test_dict_and_namedtuple_entries_are_named_by_key_and_field() -> None:
    x = torch.zeros(4, 3)
    x[2, 1] = float("nan")
    y = torch.zeros(4)
    y[1] = float("inf")
    samples, positions, stats = locate_bad_samples([BatchRef({"features": x, "labels": y, "id": 7}, [10, 11, 12, 13])])
    assert samples == [11, 12] and positions == [1, 2]
    assert [s.name for s in stats] == ["batch['features']", "batch['labels']"]
    _, _, stats = locate_bad_samples([BatchRef(Pair(x, y), None), BatchRef([y, x], None)])
    assert [s.name for s in stats] == ["batch 0: batch.x", "batch 0: batch.y", "batch 1: batch[0]", "batch 1: batch[1]"]


def test_the_hot_path_iterator_yields_the_same_tensors_without_names() -> None:
    batch = {"a": [torch.ones(2), torch.ones(2, dtype=torch.long)], "b": Pair(torch.ones(1), "text")}
    assert [id(t) for t in iter_float_tensors(batch)] == [id(t) for _, t in named_float_tensors(batch)]
    assert [n for n, _ in named_float_tensors(batch)] == ["batch['a'][0]", "batch['b'].x"]
