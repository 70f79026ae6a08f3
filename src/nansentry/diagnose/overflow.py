"""Rules for values that outgrow their type: exp beyond ~88 and float16 beyond 65504.

An overflow is a code bug only when the trace was calm before it; when the loss had
been climbing step after step, the overflow is the last symptom of a divergence and
the dynamics rules (learning rate, initialisation) get the larger share.
"""

from __future__ import annotations

from nansentry.diagnose import code as src
from nansentry.diagnose.fmt import code_of, num, place, stats_line
from nansentry.diagnose.lines import keep, samples, trace_line, where
from nansentry.diagnose.ops import EDGE_OPS, EXP_LIMIT, EXP_OPS, FP16_MAX, POW_OPS, first_input, inputs_finite, is_half, max_abs_input, max_input, op_dtype, output_has
from nansentry.diagnose.rule import Context, Verdict, fix
from nansentry.records import Fix

_LIMIT_SHIFT = {"cosh": 0.69, "sinh": 0.69, "exp2": 39.3}  # cosh(x) ~ exp(x)/2; 2**x overflows at 128


def _exp_limit(name: str, dtype: str) -> float:
    base = EXP_LIMIT.get(dtype or "float32", 88.72)
    if name == "exp2":
        return base * 1.4427  # log2(e)
    return base + _LIMIT_SHIFT.get(name, 0.0)


def is_half_op(ctx: Context) -> bool:
    """The failing op computed in float16 (bfloat16 has float32's range and does not count)."""
    op = ctx.op
    if op is not None and op_dtype(op):
        return is_half(op_dtype(op))
    if op is not None and op.autocast:
        return is_half(ctx.run.autocast_dtype)
    return any(is_half(d) for d in ctx.run.param_dtypes) or is_half(ctx.run.autocast_dtype)


def check_exp_overflow(ctx: Context) -> Verdict | None:
    """NS205: exp/cosh/pow of an input beyond the largest the dtype can exponentiate."""
    op, name = ctx.op, ctx.op_name
    if op is None or ctx.phase not in ("forward", "loss", "backward"):
        return None
    dtype = op_dtype(op) or "float32"
    hi = max_input(op)
    if name in EXP_OPS:
        limit32 = _exp_limit(name, "float32")
        if hi is not None and hi > limit32:
            conf = 0.9
        elif hi is not None and is_half(dtype) and hi > _exp_limit(name, dtype):
            return None  # finite in float32: a float16 overflow (NS206)
        elif hi is None and (output_has(op, "inf") or op.output is None):
            conf = 0.7
        else:
            return None
    elif name in POW_OPS and output_has(op, "inf") and inputs_finite(op) and not is_half(dtype):
        hi = max_abs_input(op)
        x = first_input(op)
        if x is not None and x.n_zero and not (hi and hi > 1e18):
            return None  # 0 ** negative is a division by zero (NS203)
        if hi is not None and hi > 1e6:
            return None  # a huge base squared: the magnitude blew up upstream (dynamics rules)
        conf = 0.6
    else:
        return None
    d = ctx.signals.diverging
    if d >= 0.7 or ctx.signals.diverged_far:
        conf = min(conf, 0.55)  # the input grew because training diverged
    code = code_of(op)
    ev = keep(where(ctx),
              f"its input reached {num(hi)}; {name}() overflows float32 above {num(_exp_limit(name, 'float32'))}"
              if hi is not None else None,
              f"its input {stats_line(op.inputs[0])}" if op.inputs else None,
              trace_line(ctx) if d >= 0.7 else None, samples(ctx))
    return Verdict(conf, f"`{name}` overflowed to inf at {place(op)}: its input exceeded "
                   f"~{num(_exp_limit(name, 'float32'))}" + (" (a softmax written without subtracting the max?)"
                                                             if src.mentions(code, "sum") else ""),
                   ev, _exp_fixes(ctx, name))


def _exp_fixes(ctx: Context, name: str) -> tuple[Fix, ...]:
    code, at = code_of(ctx.op), place(ctx.op)
    out: list[Fix] = []
    if src.mentions(code, "log") and src.mentions(code, "exp"):
        if src.mentions(code, "sum"):
            out.append(fix("use logsumexp", f"at {at} replace log(sum(exp(x))) with `torch.logsumexp(x, dim)`"))
        else:
            out.append(fix("use softplus", f"at {at} replace log(1 + exp(x)) with `F.softplus(x)`"))
    if src.mentions(code, "exp") and ("/" in (code or "") or src.mentions(code, "sum")):
        out.append(fix("use softmax", f"at {at} replace exp(x) / exp(x).sum(dim) with `torch.softmax(x, dim)` "
                       "(or `F.log_softmax` for a loss): it subtracts the max first"))
    if name == "cosh":
        out.append(fix("use a stable log-cosh", f"at {at} log(cosh(x)) = x + F.softplus(-2 * x) - log(2)"))
    out.append(fix("subtract the max", f"at {at} exponentiate `x - x.amax(dim, keepdim=True)` and carry the max in "
                   "log space, or keep the computation in log space (`torch.logsumexp`)"))
    return tuple(out)


def check_fp16_overflow(ctx: Context) -> Verdict | None:
    """NS206: a value beyond float16's 65504 under half precision or autocast."""
    op, s = ctx.op, ctx.signals
    beyond = [x for x in (op.inputs if op is not None else ()) if x.n_beyond]
    half = is_half_op(ctx)
    if op is not None and beyond:
        conf = 0.9
    elif op is not None and half and output_has(op, "inf") and inputs_finite(op):
        hi = max_input(op)
        if ctx.op_name in EXP_OPS and hi is not None and hi > _exp_limit(ctx.op_name, "float32"):
            conf = 0.5  # would overflow in float32 too (NS205)
        else:
            conf = 0.88 if ctx.phase != "backward" else 0.85
    elif op is not None and half and output_has(op, "nan") and inputs_finite(op) and ctx.op_name not in EDGE_OPS:
        conf = 0.6
    elif op is None and half and s.has_event:
        near = [v for v in (s.grad_peak, s.last_loss, s.first_output) if v is not None and v > FP16_MAX / 4]
        conf = 0.6 if near else 0.35
    else:
        return None
    if s.diverging >= 0.7 and not beyond:
        conf = min(conf, 0.6)
    elif s.diverged_far and not beyond:
        conf = min(conf, 0.55)  # the loss sat 1000x above its minimum first: the divergence came first
    dt = (op_dtype(op) if op is not None else "") or ctx.run.autocast_dtype or "float16"
    ev = keep(where(ctx),
              *(f"input {stats_line(x)} is about to be cast to float16" for x in beyond[:2]),
              f"the op ran in {dt}{' under autocast' if op is not None and op.autocast else ''}; float16's "
              f"largest finite value is 65504" if half else None,
              f"its inputs reached {num(max_input(op))}" if op is not None and max_input(op) is not None else None,
              "no GradScaler in use" if ctx.phase == "backward" and not ctx.run.grad_scaler else None,
              samples(ctx))
    return Verdict(conf, f"A value exceeded float16's range (65504) at {place(op)}", ev, _fp16_fixes(ctx))


def _fp16_fixes(ctx: Context) -> tuple[Fix, ...]:
    at = place(ctx.op)
    out = [fix("use bfloat16", "run autocast with `dtype=torch.bfloat16` (float32's exponent range) instead of "
               "float16, where the hardware supports it")]
    if ctx.op is not None:
        out.append(fix("run this op in float32", f"at {at} wrap it in `with torch.autocast(device_type, "
                       "enabled=False):` and cast its inputs with `.float()`"))
    if ctx.phase == "backward" and not ctx.run.grad_scaler:
        out.append(fix("use a GradScaler", "scale the loss with `torch.amp.GradScaler()`: it skips overflowing "
                       "steps and adapts the scale"))
    out.append(fix("keep activations in range", "normalise activations (LayerNorm/RMSNorm) or scale them down so "
                   "they stay well below 65504"))
    return tuple(out)
