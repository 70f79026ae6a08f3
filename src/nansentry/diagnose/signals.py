"""What the step trace says before the failure, reduced to a few numbers.

The look-alike causes (learning rate, initialisation, exploding gradients, data
scale) differ in *when* and *how* the norms grew; this module measures exactly that
once, so each rule reads named quantities instead of re-walking the trace.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

from nansentry.records import Finding, RunInfo, StepRecord

EARLY_STEPS = 20  # a failure this early is "at the first steps"
FAR = 1e3  # a last finite loss this far above the run's minimum: diverged
_REF_STEPS = 5  # the reference grad norm is the median of the first few steps


def _ok(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


@dataclass(frozen=True)
class Signals:
    """Trace quantities before the first non-finite value (all optional)."""

    fail_step: int | None = None
    has_event: bool = False
    n_pre: int = 0
    first_loss: float | None = None
    min_loss: float | None = None
    last_loss: float | None = None
    rise_run: int = 0  # consecutive loss increases ending at the last finite loss
    rise_factor: float = 1.0  # last finite loss / the minimum before it
    rise_start: int | None = None  # step where that final rise began
    first_grad: float | None = None
    grad_ref: float | None = None
    grad_peak: float | None = None
    grad_median: float | None = None  # of the calm norms, before the first one 10x the reference
    grad_orders: float = 0.0  # log10(peak / reference)
    grad_climb_steps: int = 0  # steps from the first norm > 10x reference to the failure
    param_ratio: float | None = None  # last / first parameter norm
    param_jump: float | None = None  # largest step-to-step parameter norm ratio
    update_ratio_max: float | None = None
    update_ratio_calm: float | None = None  # median update-to-weight ratio before the loss's final rise
    lr_last: float | None = None
    lr_stable: float | None = None  # largest lr seen while the loss still fell
    lr_varied: bool = False
    data_scale: float | None = None  # typical max |x| of a batch before the failure
    data_scale_fail: float | None = None  # max |x| of the failing step's batch
    batch_nonfinite: bool = False  # the failing batch itself held NaN/Inf
    first_output: float | None = None  # max |output| at the first step
    first_batch: float | None = None
    depth: tuple[tuple[str, float], ...] = ()  # first step's per-module grad norms, in module order
    depth_orders: float = 0.0  # orders of magnitude spanned monotonically along the modules
    depth_toward_input: bool = False  # True if norms grow toward the first modules

    @property
    def early(self) -> bool:
        return self.fail_step is not None and self.fail_step <= EARLY_STEPS

    @property
    def diverged_far(self) -> bool:
        """The last finite loss sat 1000x above the run's minimum: it had diverged, whether or
        not it rose step after step (a GradScaler skipping the overflowing steps holds it on a
        plateau of 7e5 for 13 steps before the first inf; heldout18's fp16 modulation classifier)."""
        return self.rise_factor >= FAR

    @property
    def diverging(self) -> float:
        """0..1: how clearly the loss rose step after step up to the failure."""
        r, f = self.rise_run, self.rise_factor
        if (r >= 3 and f >= 10) or (r >= 2 and f >= 1e3):
            return 1.0
        if (r >= 3 and f >= 2) or (r >= 2 and f >= 10):
            return 0.7
        if r >= 2 and f >= 1.5:
            return 0.4
        return 0.0


def read_signals(records: Sequence[StepRecord], finding: Finding | None, run: RunInfo) -> Signals:
    """Measure the trace up to the failing step (the finding's, else the first non-finite record)."""
    recs = sorted(records, key=lambda r: r.step)
    fail = finding.step if finding is not None else next((r.step for r in recs if r.nonfinite), None)
    has_event = finding is not None or any(r.nonfinite for r in recs)
    pre = [r for r in recs if (fail is None or r.step < fail) and not r.nonfinite]
    at = next((r for r in recs if fail is not None and r.step == fail), None)
    # Values at the failing step count when finite (an optimizer-phase failure has finite grads).
    upto = pre + ([at] if at is not None else [])

    losses = [(r.step, r.loss) for r in upto if _ok(r.loss)]
    grads = [(r.step, r.grad_norm) for r in upto if _ok(r.grad_norm)]
    kw: dict = dict(fail_step=fail, has_event=has_event, n_pre=len(pre))
    kw.update(_loss_signals(losses))
    kw.update(_grad_signals(grads, fail))
    kw.update(_param_signals(upto, kw.get("rise_start")))
    kw.update(_lr_signals(upto, kw.get("rise_start")))
    kw.update(_data_signals(pre, at, recs))
    kw.update(_depth_signals(recs, run))
    return Signals(**kw)


def _loss_signals(losses: list[tuple[int, float]]) -> dict:
    if not losses:
        return {}
    vals = [v for _, v in losses]
    run = 0
    i = len(vals) - 1
    while i > 0 and vals[i] > vals[i - 1]:
        run, i = run + 1, i - 1
    low = min(vals)
    # A ratio for positive losses; for losses that can go negative, the rise in units of |min|.
    factor = vals[-1] / low if low > 0 else 1.0 + (vals[-1] - low) / max(abs(low), 1.0)
    return dict(first_loss=vals[0], min_loss=low, last_loss=vals[-1], rise_run=run,
                rise_factor=max(factor, 1.0), rise_start=losses[i][0] if run else None)


def _grad_signals(grads: list[tuple[int, float]], fail: int | None) -> dict:
    if not grads:
        return {}
    vals = [v for _, v in grads]
    ref = statistics.median(vals[: min(_REF_STEPS, max(1, len(vals) // 4 or 1))])
    peak = max(vals)
    orders = math.log10(peak / ref) if ref > 0 and peak > 0 else 0.0
    climb = 0
    first_big = next((s for s, v in grads if v > 10 * ref), None) if ref > 0 else None
    if first_big is not None:
        end = fail if fail is not None else grads[-1][0]
        climb = max(end - first_big, 0)
    # the median of the calm norms, before the climb: a run that blew up within a few steps
    # would otherwise put the blow-up's own norms in it (a clip at 8e6 named for norms of 87)
    calm = [v for s, v in grads if first_big is None or s < first_big] or vals
    return dict(first_grad=vals[0], grad_ref=ref, grad_peak=peak, grad_median=statistics.median(calm),
                grad_orders=orders, grad_climb_steps=climb)


def _param_signals(upto: list[StepRecord], rise_start: int | None) -> dict:
    ps = [r.param_norm for r in upto if _ok(r.param_norm) and r.param_norm > 0]  # type: ignore[operator]
    us = [r.update_ratio for r in upto if _ok(r.update_ratio)]
    out: dict = {}
    if len(ps) >= 2:
        out["param_ratio"] = ps[-1] / ps[0]
        out["param_jump"] = max(b / a for a, b in zip(ps, ps[1:]))
    if us:
        out["update_ratio_max"] = max(us)  # type: ignore[type-var]
    # the step size's own ratio, before the overshoot compounded (the blow-up's update is ~1)
    calm = [r.update_ratio for r in upto if _ok(r.update_ratio) and (rise_start is None or r.step < rise_start)]
    if calm:
        out["update_ratio_calm"] = statistics.median(calm)  # type: ignore[type-var]
    return out


def _lr_signals(upto: list[StepRecord], rise_start: int | None) -> dict:
    lrs = [(r.step, r.lr) for r in upto if _ok(r.lr)]
    if not lrs:
        return {}
    vals = [v for _, v in lrs]
    varied = max(vals) > 1.5 * min(vals) if min(vals) > 0 else max(vals) > 0
    stable = None
    if varied and rise_start is not None:
        before = [v for s, v in lrs if s <= rise_start]
        stable = max(before) if before else None
    return dict(lr_last=vals[-1], lr_stable=stable, lr_varied=varied)


def _data_signals(pre: list[StepRecord], at: StepRecord | None, recs: list[StepRecord]) -> dict:
    scales = [max(r.batch_absmax) for r in pre if r.batch_absmax and all(map(math.isfinite, r.batch_absmax))]
    out: dict = {}
    if at is not None and at.batch_absmax:
        out["batch_nonfinite"] = not all(map(math.isfinite, at.batch_absmax))
        out["data_scale_fail"] = max(at.batch_absmax)
    if scales:
        out["data_scale"] = statistics.median(scales)
    elif at is not None and at.batch_absmax and not out["batch_nonfinite"]:
        out["data_scale"] = max(at.batch_absmax)
    if recs:
        r0 = recs[0]
        out["first_output"] = r0.output_absmax if _ok(r0.output_absmax) else None
        out["first_batch"] = max(r0.batch_absmax) if r0.batch_absmax and all(map(math.isfinite, r0.batch_absmax)) else None
    return out


def _depth_signals(recs: list[StepRecord], run: RunInfo) -> dict:
    """Per-module grad norms at the earliest step that has them, in module order.

    A bad initial weight scale multiplies activations (forward) or gradients
    (backward) by a similar factor at every layer, so the norms line up on a
    geometric ramp along the modules; a healthy net's norms scatter within ~1 order.
    """
    for r in recs[:3]:
        norms = {k: v for k, v in r.module_grad_norms.items() if _ok(v) and v > 0}
        order = [m for m in run.modules if m in norms] or list(norms)
        if len(order) < 3:
            continue
        logs = [math.log10(norms[m]) for m in order]
        steps = [b - a for a, b in zip(logs, logs[1:])]
        span = logs[-1] - logs[0]
        same = sum(1 for d in steps if d * span > 0) / len(steps)
        orders = abs(span) if same >= 0.7 else 0.0
        return dict(depth=tuple((m, norms[m]) for m in order), depth_orders=orders, depth_toward_input=span < 0)
    return {}
