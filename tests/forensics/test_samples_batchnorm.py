"""The sample search when a layer refuses a subset of the batch after the producer ran.

A replay of a subset of one sample cannot get through BatchNorm in training mode; when the
value was already produced before it (an empty set pooled to 0/0), the failure was seen
and the sample is the answer (it once counted as "not reproduced": no sample found)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tests.forensics.test_oracle import guarded

EMPTY = 37  # a set with no members: its mean is 0/0


class MeanPoolThenBatchNorm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Linear(5, 16)
        self.head = nn.Sequential(nn.Linear(16, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, items: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.enc(items) * mask.unsqueeze(-1)
        return self.head(h.sum(1) / mask.sum(1, keepdim=True))


def sets() -> DataLoader:
    g = torch.Generator().manual_seed(0)
    items = torch.randn(96, 6, 5, generator=g)
    mask = (torch.rand(96, 6, generator=g) < 0.7).float()
    mask[:, 0] = 1.0
    mask[EMPTY] = 0.0
    y = torch.randn(96, 1, generator=g)
    return DataLoader(TensorDataset(items, mask, y), batch_size=16, shuffle=True,
                      generator=torch.Generator().manual_seed(2))


def test_an_empty_set_before_batchnorm_is_found(tmp_path: Path) -> None:
    def run(m: nn.Module, opt: torch.optim.Optimizer) -> None:
        for _ in range(2):
            for items, mask, y in sets():
                loss = nn.functional.mse_loss(m(items, mask), y)
                opt.zero_grad()
                loss.backward()
                opt.step()

    r = guarded(tmp_path, MeanPoolThenBatchNorm(), run)
    fn = r["first_nonfinite"]
    assert (fn["phase"], fn["op"]) == ("forward", "div")
    assert r["bad_samples"] == [EMPTY]
