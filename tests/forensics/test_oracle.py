"""Oracle tests: inject a non-finite value at a known module, step, phase and line.

Each case asserts that the JSON report names exactly that step, phase, op, module,
file and line (and the samples for data cases), through the Python API.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler

import nansentry
from tests.forensics import oracle as o


@pytest.fixture(autouse=True)
def _reset() -> None:
    torch.manual_seed(0)
    o.ARM["on"] = False
    o.COUNTER["n"] = 0


def guarded(tmp_path: Path, model: nn.Module, run: Any, opt: torch.optim.Optimizer | None = None) -> dict:
    opt = opt or torch.optim.SGD(model.parameters(), lr=0.05)
    path = tmp_path / "r.json"
    g = nansentry.Guard(model, opt, json=path)
    with pytest.raises(nansentry.NonFiniteError):
        run(model, opt)
    g.close()
    return json.loads(path.read_text())


CASES = [
    # id, injected module, arm step, loss, expected (phase, op, module, line marker)
    ("forward-log", o.LogZero, 3, None, ("forward", "log", "body.2.1", "log")),
    ("backward-sqrt", o.SqrtZero, 2, None, ("backward", "sqrt", "body.2.1", "sqrt")),
    ("loss-handwritten-logsoftmax", nn.Identity, 4, o.hand_loss, ("loss", "log", None, "loss")),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_op_phase_module_line(tmp_path: Path, case: tuple) -> None:
    _, inject, step, loss, (phase, op, module, marker) = case
    model = o.mlp(inject())
    kw = {"loss_fn": loss} if loss else {}
    r = guarded(tmp_path, model, lambda m, opt: o.train(m, o.loader(), step, opt=opt, **kw))
    fn = r["first_nonfinite"]
    assert (fn["step"], fn["phase"], fn["op"], fn["module"]) == (step, phase, op, module)
    assert (fn["file"], fn["line"]) == (o.FILE, o.line_of(marker))
    assert r["reproduced"] is True
    assert r["bad_samples"] == []  # armed for the whole batch: not sample-specific


def test_optimizer_adam_eps0(tmp_path: Path) -> None:
    model = o.mlp(o.ZeroGrad())
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, eps=0.0)
    r = guarded(tmp_path, model, lambda m, op: o.train(m, o.loader(), None, opt=op), opt)
    fn = r["first_nonfinite"]
    assert (fn["step"], fn["phase"], fn["op"], fn["module"]) == (0, "optimizer", "addcdiv", None)
    assert (fn["file"], fn["line"]) == (o.FILE, o.line_of("step"))


def test_optimizer_names_the_parameter(tmp_path: Path) -> None:
    from nansentry.forensics.optim import investigate_update

    model = o.mlp(o.ZeroGrad())
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, eps=0.0)
    seen: list = []
    import nansentry.watch.session as session

    orig = session.investigate

    def spy(*a: Any) -> Any:
        f = orig(*a)
        seen.append(f)
        return f

    session.investigate = spy
    try:
        guarded(tmp_path, model, lambda m, op: o.train(m, o.loader(), None, opt=op), opt)
    finally:
        session.investigate = orig
    ev = seen[0].op
    assert (ev.param, ev.optimizer) == ("body.2.1.w", "Adam")
    assert investigate_update is not None


def test_fully_masked_row_is_blamed_on_softmax_not_the_mask(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(16, 5, 4, generator=g)
    mask = torch.rand(16, 5, generator=g) > 0.3
    mask[:, 0] = True
    mask[11] = False  # sample 11: every position masked -> softmax of an all -inf row
    model = o.Attn()
    ds = torch.utils.data.TensorDataset(x, mask)
    dl = DataLoader(ds, batch_size=8, shuffle=False)

    def run(m: nn.Module, opt: torch.optim.Optimizer) -> None:
        for xb, mb in dl:
            loss = m(xb, mb).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    r = guarded(tmp_path, model, run)
    fn = r["first_nonfinite"]
    assert (fn["step"], fn["phase"], fn["op"], fn["module"]) == (1, "forward", "_softmax", "")
    assert fn["line"] == o.line_of("softmax")
    assert r["bad_samples"] == [11]


def test_partial_mask_is_not_a_failure(tmp_path: Path) -> None:
    x = torch.randn(8, 5, 4)
    mask = torch.ones(8, 5, dtype=torch.bool)
    mask[:, 3:] = False  # -inf in part of every row: intentional, softmax stays finite
    model = o.Attn()
    path = tmp_path / "r.json"
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with nansentry.Guard(model, opt, json=path):
        for _ in range(2):
            loss = model(x, mask).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert json.loads(path.read_text())["status"] == "healthy"


def test_not_reproduced_is_said(tmp_path: Path) -> None:
    model = o.mlp(o.Counted())
    r = guarded(tmp_path, model, lambda m, opt: o.train(m, o.loader(), None, opt=opt))
    fn = r["first_nonfinite"]
    assert fn["step"] == 2 and fn["phase"] == "forward"
    assert r["reproduced"] is False
    assert fn["op"] is None and fn["line"] is None  # no guessing


def test_degenerate_sample_found_by_replay(tmp_path: Path) -> None:
    ds = o.Rows(48)
    ds.x[29] = 0.0  # an all-zero sample: log(|x|) of it is -inf whatever the weights

    class LogAbs(nn.Module):
        def forward(self, h: torch.Tensor) -> torch.Tensor:
            return h + torch.log(h.abs().sum(-1, keepdim=True))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pre = LogAbs()
            self.head = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.pre(x))

    dl = DataLoader(ds, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(3))
    r = guarded(tmp_path, Net(), lambda m, opt: o.train(m, dl, None, opt=opt))
    assert r["first_nonfinite"]["op"] == "log" and r["first_nonfinite"]["module"] == "pre"
    assert r["bad_samples"] == [29]


def test_sample_search_is_not_cut_short_by_a_slow_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A zero time budget (every replay slower than planned, as on a busy machine): the search
    still gets its minimum number of replays and finds the sample."""
    import importlib

    inv = importlib.import_module("nansentry.forensics.investigate")  # the module, not its function
    monkeypatch.setattr(inv, "BUDGET", 0.0)
    monkeypatch.setattr(inv, "BUDGET_FLOOR_S", 0.0)
    ds = o.Rows(48)
    ds.x[29] = 0.0
    dl = DataLoader(ds, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(3))
    r = guarded(tmp_path, o.L1Rows(), lambda m, opt: o.train(m, dl, None, opt=opt))
    assert r["first_nonfinite"]["op"] == "div" and r["bad_samples"] == [29]


def test_degenerate_sample_in_the_second_micro_batch_of_an_accumulated_step(tmp_path: Path) -> None:
    """Gradient accumulation: one optimizer step sees two DataLoader batches of the same size.
    The sample's dataset index comes from the micro-batch it failed in, not the first one."""
    ds = o.Rows(48)
    ds.x[29] = 0.0

    dl = DataLoader(ds, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(3))
    order = [int(i) for b in DataLoader(list(range(48)), batch_size=8, shuffle=True,
                                          generator=torch.Generator().manual_seed(3)) for i in b]
    assert (order.index(29) // 8) % 2 == 1  # the oracle: 29 sits in a second micro-batch

    def run(m: nn.Module, opt: torch.optim.Optimizer) -> None:
        for i, (x, y) in enumerate(dl):
            (nn.functional.cross_entropy(m(x), y) / 2).backward()
            if i % 2 == 1:
                opt.step()
                opt.zero_grad()

    r = guarded(tmp_path, o.L1Rows(), run)
    assert r["first_nonfinite"]["op"] == "div" and r["first_nonfinite"]["step"] == order.index(29) // 16
    assert r["bad_samples"] == [29]


LOADERS = [
    ("shuffle-w0", dict(shuffle=True, num_workers=0)),
    ("shuffle-w2", dict(shuffle=True, num_workers=2)),
    ("batch-sampler", dict(batch_size=None)),
]


@pytest.mark.parametrize("kw", [c[1] for c in LOADERS], ids=[c[0] for c in LOADERS])
def test_data_samples_are_dataset_indices(tmp_path: Path, kw: dict) -> None:
    ds = o.Rows(48, nan_at=(13, 40))

    def make(data: Any, workers: int) -> DataLoader:
        gen = torch.Generator().manual_seed(5)
        if kw.get("batch_size", 1) is None:
            return DataLoader(data, batch_sampler=BatchSampler(RandomSampler(data, generator=gen), 8, False))
        return DataLoader(data, batch_size=8, generator=gen, shuffle=True, num_workers=workers)

    # the oracle: the same loader over the indices themselves
    order = [int(i) for b in make(list(range(48)), 0) for i in b]
    first = min(order.index(13), order.index(40)) // 8
    expect = sorted(i for i in (13, 40) if order.index(i) // 8 == first)
    dl = make(ds, kw.get("num_workers", 0))
    r = guarded(tmp_path, o.mlp(nn.Identity()), lambda m, opt: o.train(m, dl, None, opt=opt))
    fn = r["first_nonfinite"]
    assert (fn["step"], fn["phase"]) == (first, "data")
    assert r["bad_samples"] == expect


def test_no_dataloader_gives_positions_only(tmp_path: Path) -> None:
    x = torch.randn(8, 4)
    x[5] = 0.0

    def run(m: nn.Module, opt: torch.optim.Optimizer) -> None:
        loss = m(x).pow(2).mean()
        loss.backward()
        opt.step()

    r = guarded(tmp_path, o.L1Rows(), run)
    assert r["first_nonfinite"]["op"] == "div"
    assert r["bad_samples"] == [] and r["batch_positions"] == [5]
