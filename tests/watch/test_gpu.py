"""CUDA paths: at most one extra host sync per step; AMP fp16 with GradScaler stays quiet.

Skipped without a GPU (CI has none); run on a GPU machine with `pytest tests/watch/test_gpu.py`.
"""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from torch import nn

import nansentry

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _loop(model, opt, steps, scaler=None):
    for _ in range(steps):
        x = torch.randn(32, 64, device="cuda")
        with torch.autocast("cuda", dtype=torch.float16, enabled=scaler is not None):
            loss = model(x).float().pow(2).mean()
        opt.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()


def _syncs(fn) -> int:
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            fn()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(x.message) for x in w)


@cuda
def test_at_most_one_extra_sync_per_step():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 1)).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, foreach=True, capturable=True)
    _loop(model, opt, 3)
    steps = 10
    bare = _syncs(lambda: _loop(model, opt, steps))
    guard = nansentry.Guard(model, opt)
    guarded = _syncs(lambda: _loop(model, opt, steps))
    guard.close()
    assert guarded - bare <= steps, (bare, guarded)


@cuda
def test_amp_fp16_grad_scaler_is_healthy(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 1)).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda", init_scale=2.0**24)  # first steps overflow on purpose
    with nansentry.Guard(model, opt, json=tmp_path / "r.json"):
        _loop(model, opt, 20, scaler)
    assert json.loads((tmp_path / "r.json").read_text())["status"] == "healthy"


@cuda
def test_cuda_forward_nan_is_caught(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 8), nn.Linear(8, 1)).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    with pytest.raises(nansentry.NonFiniteError):
        with nansentry.Guard(model, opt, json=tmp_path / "r.json"):
            for i in range(5):
                x = torch.randn(8, 64, device="cuda")
                if i == 3:
                    x = x / 0.0 * 0.0
                loss = model(x).mean()
                opt.zero_grad(); loss.backward(); opt.step()
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["first_nonfinite"]["step"] == 3
