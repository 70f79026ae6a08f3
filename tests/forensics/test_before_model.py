"""The training loop's own ops on a batch, before the model: a 0/0 there is found by op,
line and sample, though no module or loss op produced it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tests.forensics import oracle as o
from tests.forensics.test_oracle import guarded

FILE = str(Path(__file__).resolve())


def line_of(marker: str) -> int:
    return o.line_of(marker, sys.modules[__name__])


def votes_loader(zero_at: int = 29) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(48, 4, generator=g)
    votes = torch.randint(1, 5, (48, 3), generator=g).float()
    votes[zero_at] = 0.0  # nobody voted: its distribution is 0/0
    return DataLoader(TensorDataset(x, votes), batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(3))


def soft_targets(model: nn.Module, opt: torch.optim.Optimizer, dl: DataLoader) -> None:
    for _ in range(3):
        for x, votes in dl:
            target = votes / votes.sum(1, keepdim=True)  # AT:target
            loss = -(target * F.log_softmax(model(x), 1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()


def test_a_target_normalised_in_the_loop_is_found_with_its_sample(tmp_path: Path) -> None:
    r = guarded(tmp_path, nn.Linear(4, 3), lambda m, opt: soft_targets(m, opt, votes_loader()))
    fn = r["first_nonfinite"]
    assert (fn["phase"], fn["op"], fn["module"]) == ("loss", "div", None)
    assert (fn["file"], fn["line"]) == (FILE, line_of("target"))
    assert r["bad_samples"] == [29]
    assert r["diagnosis"]["root_cause"] == "division_by_zero"


def test_an_input_scaled_in_the_loop_is_a_forward_failure(tmp_path: Path) -> None:
    def run(m: nn.Module, opt: torch.optim.Optimizer) -> None:
        for _ in range(3):
            for x, votes in votes_loader(zero_at=11):
                share = votes / votes.sum(1, keepdim=True)  # AT:share
                loss = F.mse_loss(m(torch.cat([x, share], 1)), x[:, :3])
                opt.zero_grad()
                loss.backward()
                opt.step()

    r = guarded(tmp_path, nn.Linear(7, 3), run)
    fn = r["first_nonfinite"]
    assert (fn["phase"], fn["op"], fn["line"]) == ("forward", "div", line_of("share"))
    assert r["bad_samples"] == [11]


def test_random_augmentation_in_the_loop_replays_as_drawn(tmp_path: Path) -> None:
    """Noise drawn in the loop is not drawn again by the replay (the step's own draw is
    used), so a failure that depends on it still reproduces at the model's op."""

    def run(m: nn.Module, opt: torch.optim.Optimizer) -> None:
        o.train(m, NoisyLoader(o.loader()), 2, opt=opt)

    class NoisyLoader:
        def __init__(self, dl: DataLoader) -> None:
            self.dl = dl

        def __iter__(self) -> Any:
            for x, y in self.dl:
                yield x + 0.01 * torch.randn_like(x), y

    model = nn.Sequential(nn.Linear(4, 8), o.LogZero(), nn.Linear(8, 2))
    r = guarded(tmp_path, model, run)
    fn = r["first_nonfinite"]
    assert (fn["phase"], fn["op"], fn["module"]) == ("forward", "log", "1")
    assert "did not reproduce" not in " ".join(r["diagnosis"]["evidence"])


def test_a_healthy_loop_with_preparation_records_within_its_budget() -> None:
    """Heavy loop-side preparation is capped (MAX_BEFORE_OPS) and leaves the loss window whole."""
    import nansentry
    from nansentry.watch.window import MAX_BEFORE_OPS

    model = nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    g = nansentry.Guard(model, opt)
    for x, votes in votes_loader(zero_at=0):
        votes = votes + 1.0
        for _ in range(MAX_BEFORE_OPS):
            x = x * 1.0
        loss = -(votes / votes.sum(1, keepdim=True) * F.log_softmax(model(x), 1)).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        segments = g._session.engine.snapshot.loss_ops
        opt.step()
        before = [s for s in segments if s.before_model]
        assert len(before) == 1 and before[0].truncated and len(before[0].ops) == MAX_BEFORE_OPS
        loss_seg = [s for s in segments if not s.before_model]
        assert loss_seg and not loss_seg[0].truncated and loss_seg[0].backward is not None
        break
    g.close()
