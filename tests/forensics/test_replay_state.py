"""The replay and the sample search leave everything the user sees exactly as it was."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

import nansentry
from tests.forensics import oracle as o


def test_replay_leaves_params_grads_buffers_rng_untouched() -> None:
    torch.manual_seed(0)
    o.ARM["on"] = False
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.2), o.LogZero(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    seen: dict[str, Any] = {}

    def capture(opt_: Any, a: Any, k: Any) -> None:  # runs before the guard's pre-hook
        if o.ARM["on"] and "params" not in seen:
            seen["params"] = [p.detach().clone() for p in model.parameters()]
            seen["grads"] = [p.grad.clone() for p in model.parameters()]
            seen["buffers"] = [b.clone() for b in model.buffers()]
            seen["rng"] = torch.get_rng_state()

    opt.register_step_pre_hook(capture)
    guard = nansentry.Guard(model, opt, recover="skip")
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    for step in range(3):
        o.ARM["on"] = step == 1
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if o.ARM["on"]:  # skipped step: nothing may have changed, replay included
            assert all(torch.equal(a, b) for a, b in zip(seen["params"], model.parameters()))
            for a, p in zip(seen["grads"], model.parameters()):  # NaN grads: compare bit for bit
                torch.testing.assert_close(p.grad, a, rtol=0, atol=0, equal_nan=True)
            for a, b in zip(seen["buffers"], model.buffers()):
                assert torch.equal(a, b), (a, b)
            assert torch.equal(seen["rng"], torch.get_rng_state())
    guard.close()
    f = guard._session.finding
    assert f is not None and f.op is not None and (f.op.op, f.op.module) == ("log", "3")
    o.ARM["on"] = False
