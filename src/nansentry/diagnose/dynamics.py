"""Rules for training dynamics: learning rate too high, bad initialisation, exploding gradients.

The three look alike at the failing step (some matmul overflows) and differ in the
trace before it:
- bad initialisation: already orders of magnitude off at step 0, before any update,
  on a geometric ramp along the layers;
- learning rate too high: step 0 is normal, then the loss rises step after step and
  the weights jump (update-to-weight ratio >> 1e-3);
- exploding gradients: the gradient norm climbs orders of magnitude over many steps
  while the loss does not diverge.
Trace-only evidence is worth ~0.6; a failing op that fits (an overflow in a plain
matmul, an optimizer-phase failure) lifts it to ~0.8.
"""

from __future__ import annotations

from nansentry.diagnose.edge import adam_eps
from nansentry.diagnose.fmt import num
from nansentry.diagnose.lines import keep, trace_line, where
from nansentry.diagnose.ops import EDGE_OPS, POW_OPS, max_abs_input
from nansentry.diagnose.overflow import is_half_op
from nansentry.diagnose.rule import Context, Verdict, fix
from nansentry.diagnose.signals import Signals

UNIT = 1e2  # data with max |x| below this counts as unit scale
TRACE_ONLY_CAP = 0.65
USUAL_MAX_NORM = 1.0  # `clip_grad_norm_(params, 1.0)`: the clip most hand fixes use
CLIP_BAND = 10.0  # ... kept within this factor of the run's median gradient norm, either way


def clip_norm(median: float, max_norm: float = USUAL_MAX_NORM, band: float = CLIP_BAND) -> float:
    """The max_norm to clip at: `max_norm`, moved into [median / band, band x median] of the
    run's healthy gradient norms. Below that band every healthy step would shrink more than
    `band` x (learning stalls); above it the clip binds only once a blow-up is under way.
    The fix this rule names and the clip `--recover auto` applies (`recover/clip.py`)."""
    return min(max(max_norm, median / band), band * median)


def plain_overflow(ctx: Context) -> bool:
    """The failing op is a plain one (matmul, add, conv...) whose values simply outgrew float32."""
    op = ctx.op
    if op is None or is_half_op(ctx):
        return False
    name = ctx.op_name
    if name in POW_OPS:
        hi = max_abs_input(op)
        return hi is not None and hi > 1e6
    return name not in EDGE_OPS


def _unit_data(s: Signals) -> bool:
    scale = s.data_scale if s.data_scale is not None else s.first_batch
    return scale is None or scale < UNIT


def _init_points(ctx: Context) -> tuple[float, list[str]]:
    """How far off the first step was, before any update could be blamed."""
    s, pts, ev = ctx.signals, 0.0, []
    unit = _unit_data(s)
    if s.first_loss is not None and s.first_loss >= 1e4 and unit:
        pts += 0.25
        ev.append(f"the loss was already {num(s.first_loss)} at the first step, before any update")
    if s.first_grad is not None and s.first_grad >= 1e3:
        pts += 0.25 if s.first_grad >= 1e4 else 0.1
        ev.append(f"the gradient norm was already {num(s.first_grad)} at the first step")
    base = max(1.0, s.first_batch or 1.0)
    if s.first_output is not None and s.first_output / base >= 1e3:
        pts += 0.3
        ev.append(f"the model output reached {num(s.first_output)} at the first step for inputs of at most "
                  f"{num(s.first_batch) if s.first_batch is not None else '?'}")
    if s.depth_orders >= 2:
        pts += 0.2
        big = max(s.depth, key=lambda kv: kv[1])
        ev.append(f"at the first step the per-module gradient norms span {num(s.depth_orders, 1)} orders of "
                  f"magnitude, growing layer by layer {'toward the input' if s.depth_toward_input else 'with depth'} "
                  f"(largest: `{big[0]}`, {num(big[1])})")
    if s.fail_step == 0 and plain_overflow(ctx):
        if ctx.phase in ("forward", "loss") and unit:
            pts += 0.45
            ev.append("the overflow happened in the forward pass of step 0, with the initial weights")
        elif ctx.phase == "backward":
            pts += 0.25
            ev.append("the gradients overflowed at step 0, with the initial weights")
    return pts, ev


def check_bad_initialization(ctx: Context) -> Verdict | None:
    """NS211: activations or gradients already explode at the first steps."""
    s = ctx.signals
    if not s.has_event:
        return None
    pts, ev = _init_points(ctx)
    if pts < 0.25:
        return None
    conf = min(0.85, 0.2 + pts)
    if not _unit_data(s):
        conf *= 0.5  # big inputs explain big activations (NS208)
    if not s.early:
        conf *= 0.4
    if ctx.op is not None and not plain_overflow(ctx):
        conf = min(conf, 0.5)
    big = max(s.depth, key=lambda kv: kv[1])[0] if s.depth else None
    fixes = (fix("use a fan-in scaled init", "weights should start with std about 1/sqrt(fan_in): keep PyTorch's "
                 "default init or use `nn.init.kaiming_normal_` (ReLU) / `nn.init.xavier_uniform_` (tanh); look for "
                 "a custom init such as `normal_(std=1)` or a weight multiplied up" +
                 (f" (start with `{big}`)" if big else "")),
             fix("add normalisation", "put LayerNorm/BatchNorm between layers so activations stay near unit scale"),
             fix("check residual scaling", "scale residual branches (e.g. by 1/sqrt(n_layers)) in deep nets"))
    return Verdict(round(conf, 3), "The initial weights are too large: activations/gradients were orders of "
                   "magnitude off from the first step", keep(where(ctx), *ev), fixes)


def check_learning_rate(ctx: Context) -> Verdict | None:
    """NS210: step 0 was fine, then the updates overshot and the loss rose step after step."""
    s, phase = ctx.signals, ctx.phase
    if not s.has_event or (s.fail_step == 0 and phase in ("forward", "loss", "backward", "data")):
        return None  # nothing has been updated yet at step 0
    pts, ev = 0.0, []
    if s.diverging:
        pts += 0.4 * s.diverging
        ev.append(f"the loss rose {s.rise_run} steps in a row, x{num(s.rise_factor)} from its minimum "
                  f"{num(s.min_loss)} to {num(s.last_loss)}")
    elif s.diverged_far:
        pts += 0.3
        ev.append(f"the loss stood x{num(s.rise_factor)} above its minimum {num(s.min_loss)} before the failure "
                  f"({num(s.last_loss)}): the run had diverged while still finite")
    if s.param_jump is not None and s.param_jump >= 2:
        pts += 0.2
        ev.append(f"the parameter norm jumped x{num(s.param_jump)} in a single step")
    elif s.param_ratio is not None and s.param_ratio >= 1.5:
        pts += 0.1
        ev.append(f"the parameter norm grew x{num(s.param_ratio)} before the failure")
    if s.update_ratio_max is not None and s.update_ratio_max >= 1e-2:
        pts += 0.2 if s.update_ratio_max >= 0.1 else 0.1
        ev.append(f"update-to-weight ratio reached {num(s.update_ratio_max)} per step (healthy is ~1e-3)")
    if s.lr_stable is not None and s.lr_last is not None and s.lr_last > 1.2 * s.lr_stable:
        pts += 0.15
        ev.append(f"the loss fell while the learning rate was at most {num(s.lr_stable)} and diverged at "
                  f"{num(s.lr_last)}")
    corroborated = False
    if phase == "optimizer" and adam_eps(ctx) is None:
        calm = s.grad_peak is None or s.grad_ref is None or s.grad_orders < 2
        pts += 0.35 if calm else 0.2
        corroborated = True
        ev.append("the update itself produced the non-finite parameters"
                  + (" from finite, ordinary gradients" if calm else ""))
        if s.lr_last is not None and s.lr_last >= 10:
            pts += 0.2
            ev.append(f"the learning rate is {num(s.lr_last)}")
    elif plain_overflow(ctx) and s.diverging:
        pts += 0.1
        corroborated = True
    if pts < 0.3:
        return None
    init_pts, _ = _init_points(ctx)
    if init_pts >= 0.25:
        pts *= 0.5  # the first step was already off: initialisation, not the step size
    if not _unit_data(s) and s.early:
        pts *= 0.4  # the data scale drives the overshoot (NS208)
    if s.grad_orders >= 2 and s.diverging < 0.4 and not s.diverged_far:
        pts *= 0.5  # gradients exploded under a calm loss (NS209)
    conf = min(0.8 if corroborated else TRACE_ONLY_CAP, 0.2 + pts)
    return Verdict(round(conf, 3), "The learning rate is too high: updates overshot and the loss diverged step "
                   "after step", keep(where(ctx), *ev, trace_line(ctx)), _lr_fixes(s))


def _lr_fixes(s: Signals) -> tuple:
    if s.lr_stable is not None:
        first = fix("lower the learning rate", f"the largest stable step size was about {num(s.lr_stable)}: "
                    f"cap the learning rate (or the warmup peak) there, or a bit lower")
    elif s.lr_last is not None:
        target = s.lr_last / 10
        ratio = s.update_ratio_calm  # the blow-up's own update (~1) would always say lr / 1000
        if ratio and ratio > 0:
            target = s.lr_last * min(1 / 10, max(1e-3, 1e-3 / ratio))
        first = fix("lower the learning rate", f"from {num(s.lr_last)} to about {num(target, 1)} and raise it "
                    "only while the loss keeps falling")
    else:
        first = fix("lower the learning rate", "divide it by 10 and raise it only while the loss keeps falling")
    clip = f"max_norm={num(clip_norm(s.grad_median))}" if s.grad_median else f"max_norm={USUAL_MAX_NORM:g}"
    return (first,
            fix("add warmup", "ramp the learning rate up over the first few hundred steps"),
            fix("clip gradients", f"`torch.nn.utils.clip_grad_norm_(model.parameters(), {clip})` limits a single "
                "overshooting step"))


def check_exploding_gradients(ctx: Context) -> Verdict | None:
    """NS209: the gradient norm climbed orders of magnitude while the loss stayed calm."""
    s = ctx.signals
    if not s.has_event:
        return None
    pts, ev = 0.0, []
    if s.grad_orders >= 3 and s.grad_climb_steps >= 5:
        pts += 0.5
    elif s.grad_orders >= 2 and s.grad_climb_steps >= 3:
        pts += 0.4
    elif s.grad_orders >= 1.5 and s.grad_climb_steps >= 3:
        pts += 0.2
    if pts:
        ev.append(f"the gradient norm climbed {num(s.grad_orders, 1)} orders of magnitude, from {num(s.grad_ref)} "
                  f"to {num(s.grad_peak)}, over the last {s.grad_climb_steps} steps")
    elif s.grad_orders >= 2.5 and s.grad_climb_steps <= 2 and s.diverging == 0:
        pts += 0.35  # a cliff: one huge gradient from a calm run, whose update broke the model
        ev.append(f"the gradient norm jumped {num(s.grad_orders, 1)} orders of magnitude in one step, from "
                  f"{num(s.grad_ref)} to {num(s.grad_peak)}, just before the failure; the update it drove made "
                  "the model unstable (a cliff in the loss surface; the step before it was calm)")
    elif s.first_grad is not None and s.first_grad >= 1e4 and (s.first_loss or 0) < 1e3 and (s.first_output or 0) < 1e3:
        pts += 0.3  # gradients explode through depth/time while the forward stays bounded (tanh RNN)
        ev.append(f"the gradient norm was {num(s.first_grad)} from the start while the loss ({num(s.first_loss)}) "
                  "and outputs stayed bounded")
    if not pts:
        return None
    if s.diverging < 0.4 and not s.diverged_far:
        pts += 0.15
        if s.grad_climb_steps > 2:  # a cliff's loss jumps with its norm, in the one step
            ev.append(f"meanwhile the loss did not diverge ({num(s.first_loss)} -> {num(s.last_loss)})")
    else:
        pts *= 0.4  # loss and gradients grew together: the step size (NS210)
    corroborated = False
    if ctx.phase == "backward" and (ctx.op is None or plain_overflow(ctx)):
        pts += 0.1
        corroborated = ctx.op is not None
    conf = min(0.8 if corroborated else TRACE_ONLY_CAP + 0.05, 0.2 + pts)
    clip_at = clip_norm(s.grad_median) if s.grad_median else None
    basis = ("the usual 1.0" if clip_at == USUAL_MAX_NORM else
             f"the usual 1.0 moved to within {CLIP_BAND:g}x of the median norm before the climb, {num(s.grad_median)}")
    fixes = [fix("clip gradients", f"clip gradients at {num(clip_at)} ({basis}): "
                 f"`torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm={num(clip_at)})` before "
                 "`optimizer.step()`" if clip_at else "clip gradients with `torch.nn.utils.clip_grad_norm_` before "
                 "`optimizer.step()`")]
    if ctx.run.clip_grad_norm is not None:
        fixes.append(fix("skip non-finite steps", f"clipping at {num(ctx.run.clip_grad_norm)} is on but cannot "
                         "rescue a non-finite norm: run with `--recover skip`, or pass `error_if_nonfinite=True`"))
    fixes += [fix("stabilise the architecture", "for recurrent nets use LSTM/GRU cells, LayerNorm, or truncated "
                  "backpropagation through time; for deep nets add normalisation and residual scaling"),
              fix("lower the learning rate", "a smaller step slows the growth of the weights that feed the "
                  "explosion")]
    return Verdict(round(conf, 3), "Exploding gradients: the gradient norm grew by orders of magnitude while the "
                   "loss was not diverging", keep(where(ctx), *ev), tuple(fixes))
