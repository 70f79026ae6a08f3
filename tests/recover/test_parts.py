"""Quarantine list, guard state, clip and backoff in isolation."""

from __future__ import annotations

import json
import math
import pickle

import pytest
import torch

from nansentry.recover import Quarantine, RecoveryConfig, RecoveryState
from nansentry.recover.backoff import LRBackoff
from nansentry.recover.clip import Clipper, threshold_from
from nansentry.recover.state import Counters


def test_quarantine_filter_and_file(tmp_path):
    q = Quarantine()
    assert q.add([3, 5], step=2, reason="dirty") == [3, 5] and q.add([5, 7], 4, "x") == [7]
    assert q.filter([1, 3, 4]) == [1, 4] and q.filter((3, 8)) == (8,) and q.filter([3, 5]) is None
    assert q.filter(5) is None and q.filter(6) == 6 and q.filter(["a", 3]) == ["a"]
    q.save(tmp_path / "q.json")
    data = json.loads((tmp_path / "q.json").read_text())
    assert data["indices"] == [3, 5, 7] and data["samples"][0] == {"index": 3, "step": 2, "reason": "dirty"}
    r = Quarantine()
    r.load(tmp_path / "q.json")
    assert r.indices == [3, 5, 7] and r.loaded == 3
    (tmp_path / "plain.json").write_text("[11, 12]")
    r.load(tmp_path / "plain.json")
    assert r.indices == [3, 5, 7, 11, 12]
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(ValueError, match="quarantine file"):
        r.load(tmp_path / "bad.json")


def test_state_round_trip_and_pickle():
    st = RecoveryState(quarantine={"schema": 1, "indices": [4], "samples": [{"index": 4, "step": 1, "reason": "r"}]},
                       clip_threshold=2.5, clip_cures=True, lr_factor=0.125, lr_ceilings={0: [0.01, None], 1: [0.3]},
                       counters=Counters(events=3, rollbacks=2))
    d = st.to_dict()
    assert RecoveryState.from_dict(json.loads(json.dumps(d))) == st
    assert pickle.loads(pickle.dumps(st)) == st
    with pytest.raises(ValueError, match="version"):
        RecoveryState.from_dict({**d, "version": 99})
    old = {k: v for k, v in d.items() if k not in ("clip_cures", "lr_ceilings")}  # saved before those existed
    assert RecoveryState.from_dict(old).clip_cures is False and RecoveryState.from_dict(old).lr_ceilings == {}


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="backoff"):
        RecoveryConfig(backoff=1.5)
    with pytest.raises(ValueError, match="snapshot_every"):
        RecoveryConfig(snapshot_every=0)
    with pytest.raises(ValueError, match="snapshot_overhead"):
        RecoveryConfig(snapshot_overhead=0.0)
    with pytest.raises(ValueError, match="backoff_fast"):
        RecoveryConfig(backoff_fast=1.0)
    assert RecoveryConfig().snapshot_every is None  # automatic cadence by default


def test_threshold_is_a_multiple_of_the_median():
    assert threshold_from([1.0, 2.0, 3.0, float("inf"), None, 1e6], 2.0) == 5.0
    assert threshold_from([1.0, 2.0], 2.0) is None


def test_threshold_starts_from_the_usual_max_norm_within_the_runs_band():
    """max_norm 1.0, moved into [median / 10, 10 x median] of the healthy norms."""
    assert threshold_from([3.0, 3.3, 3.5], 1.0, anchor=1.0) == 1.0  # within the band: as by hand
    assert threshold_from([0.1, 0.135, 0.2], 1.0, anchor=1.0) == 1.0
    assert threshold_from([0.01, 0.02, 0.03], 1.0, anchor=1.0) == pytest.approx(0.2)  # 10 x the median
    assert threshold_from([150.0, 182.0, 200.0], 1.0, anchor=1.0) == pytest.approx(18.2)  # median / 10
    assert threshold_from([3.0, 30.0, 300.0], 1.0, anchor=1.0, band=100.0) == 1.0
    assert threshold_from([1.0, 2.0], 1.0, anchor=1.0) is None
    with pytest.raises(ValueError, match="clip_max_norm"):
        RecoveryConfig(clip_max_norm=0.0)
    with pytest.raises(ValueError, match="clip_band"):
        RecoveryConfig(clip_band=0.5)
    assert RecoveryConfig().clip_max_norm == 1.0 and RecoveryConfig(clip_max_norm=None).clip_multiplier == 1.0


def test_clipper_matches_clip_grad_norm():
    torch.manual_seed(0)
    a = [torch.randn(5, 3), torch.randn(7)]
    b = [t.clone() for t in a]
    norm = float(torch.linalg.vector_norm(torch.cat([t.flatten() for t in a])))
    c = Clipper()
    c.threshold = 1.0
    assert c.clip_(a, norm) is not None
    ps = [torch.nn.Parameter(torch.zeros_like(t)) for t in b]
    for p, g in zip(ps, b):
        p.grad = g
    torch.nn.utils.clip_grad_norm_(ps, 1.0)
    assert all(torch.allclose(x, p.grad, rtol=1e-6, atol=0) for x, p in zip(a, ps))
    assert c.clip_(a, 0.5) is None  # below the threshold: untouched


def test_clipper_clips_gradients_whose_float32_norm_overflows():
    """Every element finite, the float32 norm inf (unscaled data): still clipped, to the threshold."""
    g = [torch.full((4,), 3e38), torch.ones(3)]
    assert math.isinf(float(torch.linalg.vector_norm(g[0])))
    c = Clipper()
    c.threshold = 2.0
    assert c.clip_(g, float("inf")) is not None
    assert float(torch.linalg.vector_norm(torch.cat(g))) == pytest.approx(2.0, rel=1e-5)


def test_backoff_applies_during_the_update_only():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    b = LRBackoff()
    b.apply(opt)
    assert opt.param_groups[0]["lr"] == 0.1  # factor 1: untouched
    b.lower(0.5)
    b.apply(opt)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    b.restore(opt)
    assert opt.param_groups[0]["lr"] == 0.1


def test_backoff_holds_a_ceiling_under_a_rising_schedule():
    """A warmup raises the lr again after a backoff: x0.5 alone let a held-out MLP climb back
    over the step size it diverged at (1.89x the hand fix; 0.91x with the ceiling)."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [p]}, {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.3}], lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 + i)  # warmup: 0.1, 0.2, 0.3, ...
    b = LRBackoff()
    for _ in range(2):
        opt.step()  # no gradients: no update, only the order torch expects
        sched.step()
    at = b.effective([opt])  # the step size that diverged: 0.3 and 0.9
    assert at == {0: [pytest.approx(0.3), pytest.approx(0.9)]}
    b.lower(0.5, at)
    used, user = [], []
    for _ in range(5):
        b.apply(opt, 0)
        used.append([g["lr"] for g in opt.param_groups])
        opt.step()
        b.restore(opt)
        user.append([g["lr"] for g in opt.param_groups])
        sched.step()
    assert used[0] == [pytest.approx(0.15), pytest.approx(0.45)]  # x0.5 of 0.3 and 0.9 ...
    assert all(u[0] <= 0.15 + 1e-12 and u[1] <= 0.45 + 1e-12 for u in used)  # ... and never above, as it rises
    assert [u[0] for u in user] == pytest.approx([0.3, 0.4, 0.5, 0.6, 0.7])  # the user's schedule unchanged
    b.apply(opt, 0)  # an event raised after the update, before restore: read the user's lr, not ours
    assert b.effective([opt]) == {0: [pytest.approx(0.15), pytest.approx(0.45)]}
    b.restore(opt)
    b.lower(0.5, b.effective([opt]))  # a second backoff at the capped lr
    assert b.ceilings[0] == [pytest.approx(0.075), pytest.approx(0.225)]


def test_fast_backoff_counts_updates_across_rollbacks_that_kept_the_step_size():
    """lr / 10 only when the run never was stable at its step size: healthy updates made
    before a rollback that kept it (a cliff: clip + rollback) count towards the next backoff."""
    from nansentry.recover.auto import AutoRecovery
    from nansentry.recover.ladder import Evidence, Plan

    class Trace:
        def records(self):
            return []

        def last(self):
            return None

    model = torch.nn.Linear(2, 1)

    class Engine:
        lead = torch.optim.SGD(model.parameters(), lr=0.1)
        optimizers = [lead]
        snapshot = type("Snapshot", (), {"optimizer": None})()
        step = 0
        trace = Trace()

    said = []
    rec = AutoRecovery(RecoveryConfig(), Quarantine(), lambda step, action, detail: said.append(detail))
    eng = Engine()
    rec.store.save(0, [model], eng.optimizers)
    ev = Evidence(step=0, phase="backward", root_cause="unknown")

    def updates(n):
        for _ in range(n):
            rec.after_update(eng, eng.lead, skipped=False)
            eng.step += 1

    updates(6)
    rec.act(eng, eng.step, Plan(rollback=True), ev, None)  # a cliff: rolled back, step size kept
    assert rec.counters.rollbacks == 1
    updates(6)
    rec.act(eng, eng.step, Plan(backoff=True), ev, None)
    assert rec.backoff.factor == 0.5, "12 stable updates at this step size in all: not a fast divergence"
    updates(3)
    rec.act(eng, eng.step, Plan(backoff=True), ev, None)
    assert rec.backoff.factor == pytest.approx(0.05), "3 updates after the last backoff: lr / 10"
    assert "3 updates after the last backoff" in said[-1]
