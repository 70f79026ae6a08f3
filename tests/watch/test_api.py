"""The Python API: phases of the first non-finite value, skip mode, real-loop shapes."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import nansentry
from tests.watch.conftest import Net, make_data


def train(model, opt, steps=6, *, x=None, y=None, loss_fn=None):
    x, y = (x, y) if x is not None else make_data()
    loss_fn = loss_fn or nn.functional.mse_loss
    for i in range(steps):
        xb, yb = x[(i * 8) % 64:(i * 8) % 64 + 8], y[(i * 8) % 64:(i * 8) % 64 + 8]
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_healthy_run_reports_healthy(tmp_path):
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with nansentry.Guard(model, opt, json=tmp_path / "r.json", report=tmp_path / "rep") as g:
        train(model, opt, steps=5)
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["status"] == "healthy" and rep["steps"] == 5
    assert rep["first_nonfinite"] is None and rep["diagnosis"] is None
    lines = (tmp_path / "rep" / "trace.jsonl").read_text().splitlines()
    assert [json.loads(s)["step"] for s in lines] == [0, 1, 2, 3, 4]
    rec = json.loads(lines[-1])
    assert rec["loss"] > 0 and rec["grad_norm"] > 0 and rec["param_norm"] > 0 and rec["lr"] == 0.01
    assert set(rec["module_grad_norms"]) == {"body.0", "body.2", "head"}
    assert g.step == 5


@pytest.mark.parametrize("phase,step", [("forward", 3), ("forward", 12), ("loss", 2), ("loss", 11), ("backward", 4)],
                         ids=str)
def test_phase_and_step_of_first_nonfinite(tmp_path, phase, step):
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = make_data()
    calls = {"n": 0}

    def loss_fn(out, tgt):
        i = calls["n"]
        calls["n"] += 1
        if phase == "loss" and i == step:
            return -torch.log(out - out).mean()  # log(0) = -inf in the loss
        if phase == "backward" and i == step:
            zero = out - out.detach()  # value 0, still attached to the graph
            return ((out - tgt) ** 2).mean() + torch.sqrt((zero**2).sum())  # d sqrt at 0 = inf
        return nn.functional.mse_loss(out, tgt)

    if phase == "forward":
        model.poison_at = step
    with pytest.raises(nansentry.NonFiniteError) as err:
        with nansentry.Guard(model, opt, json=tmp_path / "r.json"):
            train(model, opt, steps=14, x=x, y=y, loss_fn=loss_fn)
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["status"] == "nonfinite"
    assert rep["first_nonfinite"]["step"] == step
    assert rep["first_nonfinite"]["phase"] == phase
    assert err.value.report["first_nonfinite"]["phase"] == phase
    assert torch.isfinite(torch.cat([p.flatten() for p in model.parameters()])).all(), "stopped before the update"


def test_optimizer_phase_adam_eps_zero(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 1))
    unused = nn.Parameter(torch.ones(3))  # its gradient is exactly zero: Adam with eps=0 gives 0/0
    opt = torch.optim.Adam(list(model.parameters()) + [unused], lr=0.01, eps=0.0)
    x, y = make_data()

    def loss_fn(out, tgt):
        return nn.functional.mse_loss(out, tgt) + 0.0 * unused.sum()

    with pytest.raises(nansentry.NonFiniteError):
        with nansentry.Guard(model, opt, json=tmp_path / "r.json"):
            train(model, opt, steps=4, x=x, y=y, loss_fn=loss_fn)
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["first_nonfinite"]["step"] == 0
    assert rep["first_nonfinite"]["phase"] == "optimizer"


def test_skip_leaves_parameters_and_optimizer_state_untouched(tmp_path):
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x, y = make_data()
    model.poison_at = 3
    snap = {}

    def hook(o, a, k):  # registered first, so it runs before the guard's pre-hook
        if model.calls == 4 and not snap:  # the poisoned (last) step
            snap["p"] = [p.detach().clone() for p in model.parameters()]
            snap["s"] = [v.clone() for st in o.state.values() for v in st.values()]

    opt.register_step_pre_hook(hook)
    with nansentry.Guard(model, opt, json=tmp_path / "r.json", recover="skip") as g:
        train(model, opt, steps=4, x=x, y=y)
    after = [p.detach() for p in model.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(snap["p"], after))
    state = [v for st in opt.state.values() for v in st.values()]
    assert len(state) == len(snap["s"]) and all(torch.equal(a, b) for a, b in zip(snap["s"], state))
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["status"] == "nonfinite" and rep["steps"] == 4
    assert [(i["step"], i["action"]) for i in rep["interventions"]] == [(3, "skip")]
    assert any(not torch.isfinite(p.grad).all() for p in model.parameters()), "user sees the real grads again"
    assert g.report["first_nonfinite"]["phase"] == "forward"


def test_skip_is_bounded(tmp_path):
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = make_data()
    x = x.clone()
    x[:] = float("nan")
    with pytest.raises(nansentry.NonFiniteError):
        with nansentry.Guard(model, opt, json=tmp_path / "r.json", recover="skip", max_skips_in_row=3):
            train(model, opt, steps=10, x=x, y=y)
    rep = json.loads((tmp_path / "r.json").read_text())
    actions = [i["action"] for i in rep["interventions"]]
    assert actions == ["skip", "skip", "skip", "stop"]


def test_guard_without_model_watches_every_root_module(tmp_path):
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    model.poison_at = 2
    with pytest.raises(nansentry.NonFiniteError):
        with nansentry.Guard(json=tmp_path / "r.json"):
            train(model, opt, steps=5)
    rep = json.loads((tmp_path / "r.json").read_text())
    assert (rep["first_nonfinite"]["step"], rep["first_nonfinite"]["phase"]) == (2, "forward")


def test_hooks_are_removed_on_close():
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    before = torch.autograd.backward
    g = nansentry.Guard(model, opt)
    assert torch.autograd.backward is not before
    g.close()
    assert torch.autograd.backward is before
    assert not model._forward_hooks and not model._forward_pre_hooks and not opt._optimizer_step_pre_hooks


@pytest.mark.parametrize("probe_steps", [10, 0], ids=["inputs-probed", "inputs-checked-on-failure"])
def test_nonfinite_inputs_without_dataloader_are_data_phase(tmp_path, monkeypatch, probe_steps):
    from nansentry.watch import engine

    monkeypatch.setattr(engine, "OUTPUT_PROBE_STEPS", probe_steps)
    step = 2
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = make_data()
    x = x.clone()
    x[(step * 8) % 64 + 3, 1] = float("inf")
    with pytest.raises(nansentry.NonFiniteError):
        with nansentry.Guard(model, opt, json=tmp_path / "r.json"):
            train(model, opt, steps=14, x=x, y=y)
    rep = json.loads((tmp_path / "r.json").read_text())
    assert (rep["first_nonfinite"]["step"], rep["first_nonfinite"]["phase"]) == (step, "data")
    assert rep["bad_samples"] == [] and rep["batch_positions"] == [3]


@pytest.mark.parametrize("probe_steps", [10, 0], ids=["inputs-probed", "inputs-checked-on-failure"])
def test_nonfinite_inputs_the_model_made_itself_are_not_data(tmp_path, monkeypatch, probe_steps):
    """A rollout feeds the model's own output back in: an overflow in the user's code between
    two calls reaches the next call's input, but the data never held it."""
    from nansentry.watch import engine

    monkeypatch.setattr(engine, "OUTPUT_PROBE_STEPS", probe_steps)
    step = 3
    model = nn.Linear(4, 4)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, _ = make_data()
    with pytest.raises(nansentry.NonFiniteError):
        with nansentry.Guard(model, opt, json=tmp_path / "r.json"):
            for i in range(8):
                state = x[(i * 8) % 64:(i * 8) % 64 + 8]
                for _ in range(3):  # the "simulator" between calls: overflows at `step`
                    state = state + model(state) * (1e38 if i == step else 1.0)
                loss = state.pow(2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
    rep = json.loads((tmp_path / "r.json").read_text())
    first = rep["first_nonfinite"]
    # ops in the user's code after a model call count as its loss code: "loss", not "data"
    assert (first["step"], first["phase"], first["op"]) == (step, "loss", "mul")
    assert first["line"] == _line_of("1e38 if i == step")
    assert rep["diagnosis"]["root_cause"] != "dirty_data"


def _line_of(text: str) -> int:
    lines = open(__file__, encoding="utf-8").read().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line and "_line_of" not in line)


def test_an_internal_error_steps_aside_and_says_so(tmp_path, monkeypatch, capsys):
    """The guard's own bug must not kill training, nor claim the unwatched steps were healthy."""
    from nansentry.watch.engine import Engine

    real = Engine.on_step_post

    def broken(self, opt):
        if self.step == 3:
            raise TypeError("a bug in the guard")
        return real(self, opt)

    monkeypatch.setattr(Engine, "on_step_post", broken)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with nansentry.Guard(model, opt, json=tmp_path / "r.json"):
        train(model, opt, steps=6)  # training goes on after the error
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["guard_error"] == {"step": 3, "error": "TypeError: a bug in the guard"}
    err = capsys.readouterr().err
    assert "internal error, the guard steps aside: TypeError: a bug in the guard" in err
    last = err.strip().splitlines()[-1]
    assert "stepped aside" in last and "not watched" in last and "healthy" not in last


@pytest.mark.parametrize("inner", [False, True], ids=["root-raises", "submodule-raises"])
def test_a_forward_that_raises_leaves_the_global_guard_watching(tmp_path, capsys, inner):
    """A forward that raises (the user catches it: an OOM retry, a bad batch skipped) ends the
    call for the guard too. torch calls a global always-called hook without its kwargs on that
    path; that once made the guard step aside and miss every later NaN."""
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = make_data()
    model.poison_at = 4
    with pytest.raises(nansentry.NonFiniteError):
        with nansentry.Guard(json=tmp_path / "r.json"):
            for i in range(6):
                if i == 1:
                    with pytest.raises(RuntimeError):
                        (model.body if inner else model)(x[:8, :3])  # wrong width: the Linear raises
                loss = nn.functional.mse_loss(model(x[i * 8:i * 8 + 8]), y[i * 8:i * 8 + 8])
                opt.zero_grad()
                loss.backward()
                opt.step()
    assert "internal error" not in capsys.readouterr().err
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep.get("guard_error") is None
    assert (rep["first_nonfinite"]["step"], rep["first_nonfinite"]["phase"]) == (4, "forward")
