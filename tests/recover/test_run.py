"""Each rung end to end: the Python API and `nansentry run` on small seeded models."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

import nansentry
from nansentry.watch import outcome
from nansentry.records import Diagnosis

BAD = [5, 37]


class Rows(Dataset):
    """Returns (x, y, index) so the test sees which samples each batch held."""

    def __init__(self, n: int = 64) -> None:
        g = torch.Generator().manual_seed(1)
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x.sum(1, keepdim=True)
        self.x[BAD, 1] = float("nan")

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.x[i], self.y[i], i


class EvenOddBatches(torch.utils.data.Sampler):
    """A custom batch sampler: batches of even, then odd indices, shuffled by epoch."""

    def __init__(self, n: int, bs: int) -> None:
        self.n, self.bs, self.epoch = n, bs, 0

    def __iter__(self):
        g = torch.Generator().manual_seed(self.epoch)
        self.epoch += 1
        for parity in (0, 1):
            idx = [i for i in torch.randperm(self.n, generator=g).tolist() if i % 2 == parity]
            for k in range(0, len(idx), self.bs):
                yield idx[k:k + self.bs]

    def __len__(self) -> int:
        return 2 * ((self.n // 2 + self.bs - 1) // self.bs)


def _loop(model, opt, loader, epochs):
    seen: list[list[int]] = []
    for _ in range(epochs):
        ep: list[int] = []
        for x, y, i in loader:
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            ep += i.tolist()
        seen.append(ep)
    return seen


@pytest.mark.parametrize("make_loader", [
    lambda ds: DataLoader(ds, batch_size=8, shuffle=True),
    lambda ds: DataLoader(ds, batch_size=8, shuffle=True, num_workers=2),
    lambda ds: DataLoader(ds, batch_sampler=EvenOddBatches(len(ds), 8)),
], ids=["shuffle", "shuffle-workers2", "custom-batch-sampler"])
def test_dirty_samples_are_quarantined_in_every_later_epoch(tmp_path, make_loader):
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with nansentry.Guard(model, opt, json=tmp_path / "r.json", recover="auto") as g:
        seen = _loop(model, opt, make_loader(Rows()), epochs=3)
    assert set(BAD) <= set(seen[0])
    assert not set(BAD) & set(seen[1] + seen[2]), "quarantined samples came back"
    assert sorted(seen[1]) == sorted(set(range(64)) - set(BAD)), "every other sample still trains"
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["status"] == "nonfinite" and rep["recovery"]["quarantined"] == BAD and rep["recovery"]["recovered"]
    assert {i["action"] for i in rep["interventions"]} == {"quarantine", "skip"}
    assert all(torch.isfinite(p).all() for p in model.parameters())
    saved = json.loads((tmp_path / "r.quarantine.json").read_text())
    assert saved["indices"] == BAD
    # the saved list, reused: the bad samples never show up, nothing non-finite happens
    model2 = nn.Linear(4, 1)
    opt2 = torch.optim.SGD(model2.parameters(), lr=0.05)
    with nansentry.Guard(model2, opt2, json=tmp_path / "r2.json", quarantine=tmp_path / "r.quarantine.json"):
        seen2 = _loop(model2, opt2, make_loader(Rows()), epochs=1)
    assert not set(BAD) & set(seen2[0]) and json.loads((tmp_path / "r2.json").read_text())["status"] == "healthy"
    assert g.state_dict()["quarantine"]["indices"] == BAD


def _diverging_mlp(lr: float):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.8)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(256, 8, generator=g)
    y = torch.tanh(x @ torch.randn(8, 1, generator=g))
    return model, opt, sched, x, y


def _train_steps(model, opt, sched, x, y, steps):
    losses = []
    for s in range(steps):
        xb, yb = x[(s * 32) % 256:(s * 32) % 256 + 32], y[(s * 32) % 256:(s * 32) % 256 + 32]
        loss = nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("mode", ["auto", "skip"])
def test_skipped_step_leaves_batchnorm_statistics_finite(tmp_path, mode):
    """The skipped step's forward folded the NaN row into BatchNorm's running statistics;
    `auto` restores them from the newest good state, `skip` (no states) resets them. Either
    way an eval pass afterwards is finite."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(Rows(), batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0))
    path = tmp_path / "r.json"
    with nansentry.Guard(model, opt, json=path, recover=mode):
        _loop(model, opt, loader, epochs=2)
    bn = model[1]
    assert torch.isfinite(bn.running_mean).all() and torch.isfinite(bn.running_var).all()
    model.eval()
    with torch.no_grad():
        assert torch.isfinite(model(torch.randn(16, 4))).all()
    acts = [i for i in json.loads(path.read_text())["interventions"] if i["action"] == "restore_buffers"]
    assert acts, "the guard must say it touched the buffers"
    assert ("restored from the good state" if mode == "auto" else "running statistics of 1 reset") in acts[0]["detail"]


def test_divergence_rolls_back_and_backs_off(tmp_path):
    model, opt, sched, x, y = _diverging_mlp(lr=1.0)
    with pytest.raises(nansentry.NonFiniteError):  # without recovery this run dies
        with nansentry.Guard(model, opt, json=tmp_path / "off.json"):
            _train_steps(model, opt, sched, x, y, 60)
    model, opt, sched, x, y = _diverging_mlp(lr=1.0)
    with nansentry.Guard(model, opt, json=tmp_path / "r.json", recover="auto") as g:
        losses = _train_steps(model, opt, sched, x, y, 120)
    rep = json.loads((tmp_path / "r.json").read_text())
    actions = [i["action"] for i in rep["interventions"]]
    assert "rollback" in actions and "lr_backoff" in actions and "stop" not in actions
    r = rep["recovery"]
    assert r["recovered"] and r["lr_factor"] < 1 and r["rollbacks"] >= 1 and r["snapshots"]["taken"] >= 1
    assert sum(losses[-10:]) / 10 < 0.5 and all(torch.isfinite(p).all() for p in model.parameters())
    assert opt.param_groups[0]["lr"] == sched.get_last_lr()[0], "the user's lr is the scheduler's, not ours"
    st = g.state_dict()
    assert st["lr_factor"] == r["lr_factor"] and pickle.loads(pickle.dumps(st)) == st


@pytest.mark.parametrize("make", [
    lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
    lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=12),
    lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda s: 1.0 / (1 + s)),
], ids=["StepLR", "OneCycleLR", "LambdaLR"])
def test_backoff_survives_the_scheduler(tmp_path, make):
    """Every update uses factor x the scheduler's lr; the scheduler's own sequence is unchanged."""
    def run(factor: float | None):
        torch.manual_seed(0)
        model = nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        sched = make(opt)
        used, user = [], []
        guard = None
        if factor is not None:
            guard = nansentry.Guard(model, opt, recover="auto")
            st = guard.state_dict()
            guard.load_state_dict({**st, "lr_factor": factor})
        opt.register_step_pre_hook(lambda o, a, k: used.append(o.param_groups[0]["lr"]))  # runs after the guard's
        for _ in range(10):
            loss = model(torch.randn(4, 3)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            user.append(opt.param_groups[0]["lr"])
        if guard is not None:
            guard.close()
        return used, user

    used0, user0 = run(None)
    used1, user1 = run(0.25)
    assert user1 == user0, "the scheduler sees and writes its own values"
    assert used1 == pytest.approx([0.25 * u for u in used0]), "each update used the lowered step size"


@pytest.mark.parametrize("gain,max_norm,expect", [
    (1.0, 1.0, 1.0),  # the usual max_norm, within 10x of the run's median healthy norm
    (1000.0, 1.0, "band"),  # norms ~1e3: 1.0 would shrink every step >100x; raised to median / 10
    (1.0, None, "median"),  # clip_max_norm=None: the median healthy norm itself
])
def test_exploding_gradients_turn_clipping_on(tmp_path, monkeypatch, gain, max_norm, expect):
    """Diagnosed exploding gradients: roll back and clip, at max_norm 1.0 kept within 10x of
    the run's median healthy gradient norm."""
    real = outcome.diagnose

    def fake(engine, finding, options):
        return Diagnosis(root_cause="exploding_gradients", confidence=0.9, summary="norms exploded")
    monkeypatch.setattr(outcome, "diagnose", fake)
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01 / gain ** 2)
    x = torch.randn(8, 4)
    norms = []
    with nansentry.Guard(model, opt, json=tmp_path / "r.json", recover="auto", clip_max_norm=max_norm) as g:
        for s in range(12):
            scale = 1e39 if s == 6 else 1.0  # one step's gradient overflows
            loss = gain * (model(x) * scale).pow(2).mean() / scale
            opt.zero_grad()
            loss.backward()
            if s < 6:
                norms.append(float(torch.cat([p.grad.flatten() for p in model.parameters()]).norm()))
            opt.step()
    rep = json.loads((tmp_path / "r.json").read_text())
    clip = [i for i in rep["interventions"] if i["action"] == "clip"]
    assert len(clip) == 1
    r = rep["recovery"]
    median = sorted(norms)[len(norms) // 2 - 1: len(norms) // 2 + 1]  # the healthy steps' median lies between
    if expect == "band":
        assert min(median) / 10 <= r["clip_threshold"] <= max(median) / 10 and "raised to" in clip[0]["detail"]
    elif expect == "median":
        assert min(median) <= r["clip_threshold"] <= max(median) and "median norm" in clip[0]["detail"]
    else:
        assert 0.1 < min(median) and max(median) < 10, "the test's norms lie within the band"
        assert r["clip_threshold"] == expect and "the usual max_norm 1" in clip[0]["detail"]
    assert r["recovered"]
    st = g.state_dict()
    assert st["clip_threshold"] == r["clip_threshold"] and st["clip_cures"] is True, "saved with the checkpoint"
    monkeypatch.setattr(outcome, "diagnose", real)


def _least_squares(path, lr: float, steps: int, lr_at=lambda s: 1.0):
    """Full-batch least squares under Guard(recover="auto"); lr_at: the user's LambdaLR factor."""
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    losses = []
    with nansentry.Guard(model, opt, json=path, recover="auto"):
        for _ in range(steps):
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
    return json.loads(path.read_text()), losses


def test_divergence_is_caught_while_the_loss_is_still_finite(tmp_path, capsys):
    """Just past the stability limit (lr x curvature ~2.6): the loss grows ~2.5x a step.
    `auto` rolls back when the loss and gradient norm have climbed 50x while rising, so the
    run never sees inf and ends converged."""
    rep, losses = _least_squares(tmp_path / "r.json", lr=1.3, steps=60)
    assert rep["status"] == "healthy" and all(torch.isfinite(torch.tensor(losses)))
    acts = [(i["action"], i["detail"]) for i in rep["interventions"]]
    assert acts[0][0] == "skip" and "over 50x its median" in acts[0][1] and "weights diverged" in acts[0][1] and rep["interventions"][0]["step"] <= 6, acts
    assert [a for a, _ in acts[:4]] == ["skip", "clip", "rollback", "lr_backoff"]
    assert max(losses) < 1e5 and sum(losses[-10:]) / 10 < 0.05
    assert rep["recovery"]["lr_factor"] == pytest.approx(0.1)  # diverged within 10 updates: lr / 10 at once
    assert "diverged" in acts[3][1] and "1 rollback," in capsys.readouterr().err


def test_rollback_lands_just_before_the_climb(tmp_path):
    """Healthy for 40 steps, then the user's schedule multiplies the lr past the stability limit.
    The guard returns to a state taken shortly before the climb (not to the start, which
    would cost the 40 good steps) and halves the step size (the run was stable for long)."""
    import re

    rep, losses = _least_squares(tmp_path / "r.json", lr=0.1, steps=80, lr_at=lambda s: 1.0 if s < 40 else 13.0)
    acts = {i["action"]: i for i in rep["interventions"]}
    back_to = int(re.search(r"start of step (\d+)", acts["rollback"]["detail"]).group(1))
    assert 30 <= back_to < acts["rollback"]["step"] - 3, acts  # a state whose next 3 steps were healthy
    assert rep["recovery"]["lr_factor"] == pytest.approx(0.5) and rep["recovery"]["rollbacks"] == 1
    snaps = rep["recovery"]["snapshots"]
    assert snaps["auto"] and snaps["every"] >= 1 and snaps["kept"] <= 5 and snaps["taken"] >= 5
    assert sum(losses[-10:]) / 10 < 0.05


def test_code_bug_is_skipped_and_the_summary_names_the_fix(tmp_path, capsys):
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    with nansentry.Guard(model, opt, json=tmp_path / "r.json", recover="auto"):
        for s in range(8):
            p = torch.softmax(model(x) * (1e4 if s == 3 else 1.0), 1)  # saturates once: log(0)
            loss = -(torch.log(p)[torch.arange(16), y]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    rep = json.loads((tmp_path / "r.json").read_text())
    assert [(i["step"], i["action"]) for i in rep["interventions"]] == [(3, "skip")]
    err = capsys.readouterr().err
    if rep["diagnosis"]["root_cause"] in ("log_of_zero", "invalid_domain", "division_by_zero"):
        assert "not a fix" in err and rep["recovery"]["code_fix"]
    assert "1 step skipped" in err


def test_ladder_is_bounded_and_stops_with_the_diagnosis(tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.full((8, 4), float("nan"))
    with pytest.raises(nansentry.NonFiniteError):
        with nansentry.Guard(model, opt, json=tmp_path / "r.json", recover="auto", max_skips_in_row=5):
            for _ in range(50):
                loss = model(x).pow(2).mean()  # every step: no indices, nothing to quarantine
                opt.zero_grad()
                loss.backward()
                opt.step()
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["interventions"][-1]["action"] == "stop" and rep["diagnosis"] is not None
    assert rep["recovery"]["recovered"] is False and len(rep["interventions"]) < 20


SCRIPT = """
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(0)
x = torch.randn(96, 4); y = x.sum(1, keepdim=True); x[[7, 50]] = float("nan")
model = nn.Linear(4, 1); opt = torch.optim.SGD(model.parameters(), lr=0.05)
for epoch in range(3):
    for xb, yb in DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True):
        loss = nn.functional.mse_loss(model(xb), yb); opt.zero_grad(); loss.backward(); opt.step()
print("done")
"""


def test_cli_recover_auto_exits_with_the_scripts_status(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    cli = str(Path(sys.executable).with_name("nansentry"))
    off = subprocess.run([cli, "run", "--json", str(tmp_path / "off.json"), str(script)], capture_output=True, text=True)
    assert off.returncode == 1
    p = subprocess.run([cli, "run", "--recover", "auto", "--report", str(tmp_path / "rep"), str(script)],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "done" in p.stdout, p.stderr[-2000:]
    assert "quarantine: samples" in p.stderr and "recovered, the run finished" in p.stderr
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert rep["recovery"]["quarantined"] == [7, 50]
    trace = [json.loads(s) for s in (tmp_path / "rep" / "trace.jsonl").read_text().splitlines()]
    assert any(r["skipped"] and "quarantined" in (r["note"] or "") for r in trace)
    q = tmp_path / "rep" / "quarantine.json"
    again = subprocess.run([cli, "run", "--recover", "off", "--quarantine", str(q), "--json",
                            str(tmp_path / "again.json"), str(script)], capture_output=True, text=True)
    assert again.returncode == 0 and json.loads((tmp_path / "again.json").read_text())["status"] == "healthy"


def test_clip_with_a_backoff_only_cuts_spikes(tmp_path):
    """A finite climb is cured by a backoff and a clip. With a summed loss the healthy norms
    lie far above max_norm 1 (here ~1e2), so a clip at the usual value (raised to median / 10)
    would also shrink every later update ~10x on top of the backoff: the clip starts at the
    healthy steps' median instead, and the lowered step size converges."""
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.02)  # lr x curvature (~2 x 64) ~2.6: diverges
    losses, norms = [], []
    with nansentry.Guard(model, opt, json=tmp_path / "r.json", recover="auto"):
        for _ in range(80):
            loss = (model(x) - y).pow(2).sum()
            opt.zero_grad()
            loss.backward()
            norms.append(float(torch.cat([p.grad.flatten() for p in model.parameters()]).norm()))
            opt.step()
            losses.append(loss.item())
    rep = json.loads((tmp_path / "r.json").read_text())
    clip = [i for i in rep["interventions"] if i["action"] == "clip"]
    assert len(clip) == 1 and "only cuts spikes" in clip[0]["detail"], rep["interventions"]
    assert "lr_backoff" in [i["action"] for i in rep["interventions"]]
    first = clip[0]["step"]
    healthy = sorted(norms[:first])
    assert rep["recovery"]["clip_threshold"] >= healthy[0] > 10.0, "not below the healthy norms"
    assert rep["recovery"]["clipped_steps"] <= 5, "later updates are not clipped"
    assert sum(losses[-10:]) / 10 < 1e-3 * losses[0]
