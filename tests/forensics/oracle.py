"""Small models with a non-finite value injected at a known module, step, phase and line.

`ARM` is a plain Python flag set by the loop at the chosen step (not a tensor, not a
counter), so the replay of that step sees it too and reproduces the failure exactly.
Lines are found by their `# AT:<name>` marker, so the tests do not hard-code numbers.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

ARM = {"on": False}
COUNTER = {"n": 0}
FILE = str(Path(__file__).resolve())


def line_of(name: str, module: Any = None) -> int:
    """The line of `module` (default: this one) that ends with `# AT:name`."""
    src = inspect.getsource(module or inspect.getmodule(line_of)).splitlines()  # type: ignore[arg-type]
    hits = [i for i, s in enumerate(src, 1) if s.rstrip().endswith(f"# AT:{name}")]
    assert len(hits) == 1, name
    return hits[0]


class LogZero(nn.Module):
    """log of an exact zero in the forward when armed."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if ARM["on"]:
            return torch.log(h * 0)  # AT:log
        return h


class SqrtZero(nn.Module):
    """sqrt at 0: finite forward, infinite derivative, when armed."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if ARM["on"]:
            return h + torch.sqrt((h * 0).sum(-1, keepdim=True))  # AT:sqrt
        return h


class Counted(nn.Module):
    """Fails on the 3rd call only: a replay (4th call) does not fail again."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        COUNTER["n"] += 1
        if COUNTER["n"] == 3:
            return h / torch.zeros_like(h)
        return h


class Attn(nn.Module):
    """Self-attention over a padded set with an intentional -inf mask."""

    def __init__(self, d: int = 4) -> None:
        super().__init__()
        self.q = nn.Linear(d, d)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        s = self.q(x) @ x.transpose(1, 2)
        s = s.masked_fill(~mask[:, None, :], float("-inf"))
        return F.softmax(s, -1) @ x  # AT:softmax


def mlp(inject: nn.Module) -> nn.Module:
    """body.0 Linear, body.1 Tanh, body.2 <inject>, head Linear."""
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Sequential(nn.Identity(), inject))
            self.head = nn.Linear(8, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.body(x))
    return Net()


class L1Rows(nn.Module):
    """A linear head over rows divided by their L1 norm: an all-zero row gives 0 / 0."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x / x.abs().sum(-1, keepdim=True))


class Rows(Dataset):
    def __init__(self, n: int = 48, nan_at: tuple[int, ...] = ()) -> None:
        g = torch.Generator().manual_seed(1)
        self.x = torch.randn(n, 4, generator=g)
        self.y = torch.randint(0, 2, (n,), generator=g)
        for i in nan_at:
            self.x[i, 1] = float("nan")

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]


def hand_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    scale = 1e4 if ARM["on"] else 1.0
    p = torch.softmax(out * scale, -1)
    return -torch.log(p).gather(1, y[:, None]).mean()  # AT:loss


def train(model: nn.Module, loader: Any, arm_step: int | None, steps: int = 6, *,
          opt: torch.optim.Optimizer | None = None, loss_fn: Callable = F.cross_entropy) -> None:
    """A plain loop; ARM is on during step `arm_step` only."""
    opt = opt or torch.optim.SGD(model.parameters(), lr=0.05)
    step = 0
    while step < steps:
        for x, y in loader:
            ARM["on"] = step == arm_step
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()  # AT:step
            step += 1
            if step >= steps:
                return


def loader(n: int = 48, nan_at: tuple[int, ...] = (), **kw: Any) -> DataLoader:
    kw.setdefault("batch_size", 8)
    return DataLoader(Rows(n, nan_at), **kw)


class ZeroGrad(nn.Module):
    """A parameter whose gradient is exactly zero (multiplied by 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(8))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + 0 * self.w
