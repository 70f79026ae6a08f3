"""Small seeded models and loops shared by the watcher tests."""

from __future__ import annotations

import pytest
import torch
from torch import nn


class Net(nn.Module):
    """Two blocks deep so module paths have dots; `poison` injects a value mid-forward."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8))
        self.head = nn.Linear(8, 1)
        self.poison_at: int | None = None
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        if self.poison_at is not None and self.calls == self.poison_at:
            h = h / torch.zeros_like(h)  # 0/0 and x/0: NaN and inf in the forward
        self.calls += 1
        return self.head(h)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def make_data(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 4, generator=g)
    return x, x.sum(1, keepdim=True)
