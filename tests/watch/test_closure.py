"""Optimizers that compute their own gradients: `opt.step(closure)` (LBFGS; any optimizer given one).

The gradients do not exist when `step` is called, so the step's check runs after the
closure's first evaluation (heldout16's LBFGS DeepSets: before, an empty order history's 0/0
was seen only as NaN parameters after the update, diagnosed as a too-large step, and the
ladder ran dry: exit 1; now the customer is quarantined and the run ends at 0.97x the hand fix).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from nansentry import Guard
from nansentry.errors import NonFiniteError
from nansentry.forensics.optim import needs_closure

EMPTY = 21  # a row whose mask is all zero: its masked mean is 0/0


def _data(empty: bool = True) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 5, 3, generator=g)
    mask = (torch.rand(96, 5, generator=g) < 0.7).float()
    mask[:, 0] = 1.0
    if empty:
        mask[EMPTY] = 0.0
    y = (x * mask[..., None]).sum((1, 2)) / mask.sum(1).clamp(min=1)
    return TensorDataset(x, mask, y)


class Pool(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.phi, self.rho = nn.Linear(3, 8), nn.Linear(8, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.phi(x)) * mask[..., None]
        return self.rho(h.sum(1) / mask.sum(1, keepdim=True)).squeeze(-1)


def _train(make_opt, guard: dict | None, epochs: int = 2, empty: bool = True):
    """(model, per-step losses, the guard's report or None): the loop a user writes for LBFGS."""
    torch.manual_seed(0)
    model = Pool()
    opt = make_opt(model.parameters())
    loader = DataLoader(_data(empty), batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(6))
    losses: list[float] = []

    def loop() -> None:
        for _ in range(epochs):
            for x, mask, y in loader:
                def closure() -> torch.Tensor:
                    opt.zero_grad()
                    loss = F.mse_loss(model(x, mask), y)
                    loss.backward()
                    return loss

                losses.append(float(opt.step(closure).detach()))

    if guard is None:
        loop()
        return model, losses, None
    with Guard(model, opt, **guard) as g:
        loop()
    return model, losses, g.report


def _lbfgs(params):
    return torch.optim.LBFGS(params, lr=0.5, max_iter=3, line_search_fn="strong_wolfe")


def test_lbfgs_degenerate_sample_is_found_and_quarantined() -> None:
    model, losses, report = _train(_lbfgs, dict(recover="auto"))
    assert report is not None and report["diagnosis"]["root_cause"] == "division_by_zero", report
    assert report["first_nonfinite"]["phase"] == "forward" and report["bad_samples"] == [EMPTY]
    assert {i["action"] for i in report["interventions"]} == {"quarantine", "skip"}
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert sum(1 for v in losses if v != v) == 1  # the one batch that held it; quarantined after


def test_a_skipped_closure_step_leaves_the_parameters_alone() -> None:
    """SGD given a closure: the check after its evaluation hides the gradients, no update."""
    seen: list[list[torch.Tensor]] = []

    def sgd(params):
        opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
        opt.register_step_post_hook(lambda o, a, k: seen.append([p.detach().clone() for g in o.param_groups
                                                                  for p in g["params"]]))
        return opt

    model, losses, report = _train(sgd, dict(recover="skip"), epochs=1)
    bad = [i for i, v in enumerate(losses) if v != v]
    assert len(bad) == 1 and bad[0] > 0, losses
    assert all(torch.equal(a, b) for a, b in zip(seen[bad[0] - 1], seen[bad[0]]))
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert report is not None and report["bad_samples"] == [EMPTY]


def test_healthy_closure_run_is_numerically_untouched() -> None:
    plain_model, plain, _ = _train(_lbfgs, None, epochs=1, empty=False)
    watched_model, watched, report = _train(_lbfgs, dict(recover="auto"), epochs=1, empty=False)
    assert report is not None and report["status"] == "healthy" and report["interventions"] == []
    assert plain == watched  # the same losses, bit for bit
    assert all(torch.equal(a, b) for a, b in zip(plain_model.parameters(), watched_model.parameters()))


def test_lbfgs_update_that_overflows_is_reported_without_a_rerun(capsys) -> None:
    """A non-finite update inside LBFGS (its own steps, not the first evaluation): the
    optimizer-phase forensics cannot re-run `step()` without the user's closure, and says so
    (it raised a TypeError inside forensics before)."""
    def wild(params):
        return torch.optim.LBFGS(params, lr=1e30, max_iter=3)

    with pytest.raises(NonFiniteError) as stop:
        _train(wild, dict(recover="off"), epochs=1, empty=False)
    report = stop.value.report
    assert report["first_nonfinite"]["phase"] == "optimizer", report
    assert "forensics failed" not in capsys.readouterr().err
    assert needs_closure(torch.optim.LBFGS([nn.Parameter(torch.zeros(1))]))
    assert not needs_closure(torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1))
