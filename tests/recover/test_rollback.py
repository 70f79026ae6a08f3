"""Good states: a rollback restores parameters, buffers, optimizer, scheduler and scaler bit for bit."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nansentry.recover.rollback import StateStore


def _equal(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


def _setup():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=50)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=1)
    return model, opt, sched, scaler


def _train(model, opt, sched, scaler, steps):
    for _ in range(steps):
        x = torch.randn(16, 4)
        loss = (model(x) - x.sum(1, keepdim=True)).pow(2).mean()
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        sched.step()


@pytest.mark.parametrize("registered", [True, False], ids=["patched-constructor", "gc-scan"])
def test_rollback_restores_everything_bit_exact(registered):
    store = StateStore(keep=2)
    undo = store.registry.install() if registered else None
    model, opt, sched, scaler = _setup()
    if not registered:
        undo = store.registry.install()  # the scheduler exists before the guard: found by the gc scan
    try:
        _train(model, opt, sched, scaler, 3)
    finally:
        undo()
    want = ({k: v.clone() for k, v in model.state_dict().items()}, opt.state_dict(), sched.state_dict(),
            scaler.state_dict())
    want = tuple(__import__("copy").deepcopy(w) for w in want)
    state = store.save(3, [model], [opt])
    assert state is not None and state.nbytes > 0 and len(state.schedulers) == 1 and len(state.scalers) == 1
    _train(model, opt, sched, scaler, 4)
    assert not _equal(model.state_dict(), want[0]) and sched.state_dict() != want[2]
    assert scaler.state_dict() != want[3]
    store.restore(state, [opt])
    assert _equal(model.state_dict(), want[0]), "parameters and BatchNorm buffers"
    assert _equal(opt.state_dict(), want[1]), "optimizer state"
    assert _equal(sched.state_dict(), want[2]) and _equal(scaler.state_dict(), want[3])
    # the restored run continues exactly like a run that never moved on
    _train(model, opt, sched, scaler, 2)
    twin = _setup()
    twin[0].load_state_dict(want[0])
    twin[1].load_state_dict(want[1])
    twin[2].load_state_dict(want[2])
    twin[3].load_state_dict(want[3])
    torch.manual_seed(5)
    _train(*twin, 2)
    torch.manual_seed(5)
    store.restore(state, [opt])
    _train(model, opt, sched, scaler, 2)
    assert _equal(model.state_dict(), twin[0].state_dict())


def test_snapshot_is_a_copy_not_a_view():
    store = StateStore()
    model, opt, sched, scaler = _setup()
    _train(model, opt, sched, scaler, 1)
    state = store.save(1, [model], [opt])
    before = [t.clone() for t in state.tensors]
    store.restore(state, [opt])
    _train(model, opt, sched, scaler, 2)  # updates after a restore must not write into the snapshot
    assert all(torch.equal(a, b) for a, b in zip(before, state.tensors))
    assert all(torch.equal(a, b) for a, b in zip(
        [v for s in state.optimizers[0]["state"].values() for v in s.values() if isinstance(v, torch.Tensor)],
        [v for s in store.latest.optimizers[0]["state"].values() for v in s.values() if isinstance(v, torch.Tensor)]))


def test_memory_bound_and_keep():
    model, opt, _, _ = _setup()
    store = StateStore(keep=2)  # the first and the newest
    for step in range(4):
        store.save(step, [model], [opt])
    assert [s.step for s in store.states] == [0, 3]
    spread = StateStore(keep=5)
    for step in range(20):
        spread.save(step, [model], [opt])
    assert [s.step for s in spread.states] == [0, 12, 16, 18, 19]  # the first, and 0, 1, 3, 7 snapshots back
    spread.drop_after(spread.states[2])
    assert [s.step for s in spread.states] == [0, 12, 16]
    one = spread.states[-1].nbytes
    bounded = StateStore(keep=5, max_bytes=int(2.5 * one))
    for step in range(20):
        bounded.save(step, [model], [opt])
    assert [s.step for s in bounded.states] == [18, 19]  # the oldest go first
    tiny = StateStore(keep=2, max_bytes=10)
    assert tiny.save(0, [model], [opt]) is None and tiny.too_big and tiny.latest is None


def test_rollback_keeps_a_graph_the_user_still_holds_usable():
    """A GAN makes `fake = G(z)` before the critic's optimizer step, where a rollback happens,
    and back-propagates it after: restoring G's weights in place used to bump their autograd
    version, and the user's `backward()` raised ("modified by an inplace operation")."""
    store = StateStore(keep=2)
    undo = store.registry.install()
    try:
        torch.manual_seed(0)
        gen = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
        opt = torch.optim.SGD(gen.parameters(), lr=0.1)
        state = store.save(0, [gen], [opt])
        fake = gen(torch.randn(16, 4))  # a graph that saved the weights
        with torch.no_grad():
            for p in gen.parameters():
                p.add_(1.0)  # the run moved on (the user's own in-place update is before the forward)
        fake = gen(torch.randn(16, 4))
        store.restore(state, [opt])
        fake.pow(2).mean().backward()
    finally:
        undo()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in gen.parameters())
    assert all(torch.equal(live, saved) for live, saved in zip(state.targets, state.tensors))


def test_healing_buffers_keeps_a_graph_the_user_still_holds_usable():
    """After a skip, the BatchNorm statistics its forward made non-finite are restored from a
    good state or reset; that forward's graph saved them, and a backward through it (a graph
    the loop still holds) must still run."""
    from types import SimpleNamespace

    from nansentry.recover.buffers import heal_buffers

    torch.manual_seed(0)
    for from_state in (True, False):
        bn = nn.BatchNorm1d(4).train()
        saved = SimpleNamespace(step=3, targets=[bn.running_mean, bn.running_var],
                                tensors=[torch.zeros(4), torch.ones(4)]) if from_state else None
        x = torch.randn(8, 4)
        x[2, 1] = float("nan")
        x.requires_grad_(True)
        y = bn(x).sum()  # writes NaN into the running statistics, and saves them
        assert not torch.isfinite(bn.running_mean).all()
        version = bn.running_mean._version
        note = heal_buffers([bn], saved)
        assert note is not None and ("restored" in note if from_state else "reset" in note), note
        assert torch.isfinite(bn.running_mean).all() and bn.running_mean._version == version
        y.backward()
        assert x.grad is not None
