"""Real loop shapes stay quiet and counted right; a healthy run is bit-identical."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

import nansentry


class DictData(Dataset):
    """Batches as dicts with float, int and bool tensors."""

    def __len__(self) -> int:
        return 48

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        x = torch.randn(4, generator=g)
        return {"x": x, "label": int(x.sum() > 0), "mask": x > 0, "id": i}


class DictModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Linear(4, 8)
        self.cls = nn.Linear(8, 2)

    def forward(self, x, mask=None):
        h = torch.relu(self.enc(x * mask))
        return {"logits": self.cls(h), "hidden": (h, h.mean())}


def loop_dict_batches_accumulation_scheduler_clip_eval():
    model = DictModel()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    dl = DataLoader(DictData(), batch_size=8, shuffle=True)
    for i, b in enumerate(dl):
        out = model(b["x"], mask=b["mask"].float())
        loss = nn.functional.cross_entropy(out["logits"], b["label"]) / 2
        loss.backward()
        if i % 2 == 1:  # gradient accumulation over two batches
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
            sched.step()
    model.eval()
    with torch.no_grad():
        model(torch.full((2, 4), float("nan")), mask=torch.ones(2, 4))  # eval junk is not a training step
    return model, 3


def loop_two_optimizers_gan_style():
    g, d = nn.Linear(2, 4), nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(), nn.Linear(8, 1))
    og, od = torch.optim.Adam(g.parameters(), 1e-3), torch.optim.SGD(d.parameters(), 1e-2)
    for _ in range(4):
        z, real = torch.randn(8, 2), torch.randn(8, 4)
        ld = nn.functional.softplus(-d(real)).mean() + nn.functional.softplus(d(g(z).detach())).mean()
        od.zero_grad(); ld.backward(); od.step()
        lg = nn.functional.softplus(-d(g(z))).mean()
        og.zero_grad(); lg.backward(); og.step()
    return d, 4


def loop_grad_scaler_autocast_cpu():
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    for _ in range(5):
        x = torch.randn(8, 4)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = nn.functional.mse_loss(model(x).float(), x.sum(1, keepdim=True))
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    return model, 5


def loop_tuple_output_int_batch_onecycle():
    emb = nn.Embedding(20, 8)
    lstm = nn.LSTM(8, 8, batch_first=True)
    params = list(emb.parameters()) + list(lstm.parameters())
    opt = torch.optim.SGD(params, lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=6)
    for _ in range(6):
        tok = torch.randint(0, 20, (4, 5))
        out, (h, c) = lstm(emb(tok))
        loss = out.pow(2).mean() + h.pow(2).mean()
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    return lstm, 6


@pytest.mark.parametrize("loop", [
    loop_dict_batches_accumulation_scheduler_clip_eval,
    loop_two_optimizers_gan_style,
    loop_grad_scaler_autocast_cpu,
    loop_tuple_output_int_batch_onecycle,
], ids=lambda f: f.__name__.removeprefix("loop_"))
def test_real_loops_are_healthy(tmp_path, loop):
    torch.manual_seed(0)
    with nansentry.Guard(json=tmp_path / "r.json") as g:
        _, steps = loop()
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["status"] == "healthy", rep
    assert rep["steps"] == steps


def test_grad_scaler_overflow_skips_are_not_nan_events(tmp_path):
    """GradScaler's own inf steps (a scale too large for fp16 grads) are its business."""
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", init_scale=1e38, growth_interval=1)
    with nansentry.Guard(model, opt, json=tmp_path / "r.json"):
        for _ in range(4):
            loss = model(torch.randn(8, 4)).pow(2).mean() * 1e3
            opt.zero_grad()
            scaler.scale(loss).backward()  # 1e38 * 1e3 overflows: inf grads, the scaler skips
            scaler.step(opt)
            scaler.update()
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["status"] == "healthy", rep
    assert scaler.get_scale() < 1e38, "the scaler did skip and back off"


def _train_seeded(mode: str) -> list[torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.2), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = torch.utils.data.TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
    dl = DataLoader(data, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(3))
    guard = None
    if mode == "api":
        guard = nansentry.Guard(model, opt)
    elif mode == "global":
        guard = nansentry.Guard()
    for _ in range(3):
        for x, y in dl:
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    if guard is not None:
        guard.close()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("mode", ["api", "global"])
def test_healthy_run_is_bit_identical(mode):
    bare = _train_seeded("bare")
    guarded = _train_seeded(mode)
    assert all(torch.equal(a, b) for a, b in zip(bare, guarded))
