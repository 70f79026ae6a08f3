"""Rules for ops pushed to their edge: log at 0, outside the domain, x/0, singular derivatives.

These causes are code bugs (or degenerate samples hitting unsafe code): the failure
is abrupt, at one op, and the op's own input statistics prove it (exact zeros,
negatives, values at ±1). Evidence of that kind is worth ~0.9 confidence.
"""

from __future__ import annotations

from nansentry.diagnose import code as src
from nansentry.diagnose.fmt import code_of, num, place, stats_line
from nansentry.diagnose.lines import keep, samples, where
from nansentry.diagnose.ops import (
    ARC_OPS, ATANH_OPS, CTC_OPS, DIV_OPS, LOG_OPS, MEAN_OPS, NORM_LAYER_OPS, NORM_OPS, POLE_OPS, POW_OPS,
    RSQRT_OPS, SINGULAR_AT_ONE, SINGULAR_AT_ZERO, SOFTMAX_OPS, SQRT_OPS, divisor, first_input, inputs_finite,
    is_half, op_dtype, output_has,
)
from nansentry.diagnose.rule import Context, Verdict, fix
from nansentry.records import Fix, TensorStats

_FORWARD = ("forward", "loss", "data")
NO_LOG_SPACE = (  # the honest fixes for a log of 0; never clamp the log's input (seed 003)
    fix("stay in log space", "have the model return logits and use `F.log_softmax` / `F.logsigmoid` / "
        "`torch.logsumexp` instead of taking the log of a probability"),
    fix("use a fused loss", "`F.cross_entropy(logits, target)` or `F.binary_cross_entropy_with_logits(logits, target)` "
        "compute the log-probability without ever rounding it to 0"),
    fix("if only probabilities are available", "use `nansentry.safe.cross_entropy_from_probs(p, target)` or "
        "`nansentry.safe.log(p)`: finite at 0, with a gradient that still pushes p up"),
)


def _log_arg(ctx: Context) -> TensorStats | None:
    """The input a log-family op takes the log of (xlogy(x, y) logs y)."""
    op = ctx.op
    if op is None:
        return None
    if ctx.op_name in ("xlogy", "special_xlogy") and len(op.inputs) >= 2:
        return op.inputs[1]
    return first_input(op)


def _log_edge(ctx: Context) -> str | None:
    """'zero', 'negative' or None for the input of a log-family op."""
    x, name = _log_arg(ctx), ctx.op_name
    if x is None:
        return None
    if name == "log1p":
        if x.min is not None and x.min < -1:
            return "negative"
        return "zero" if x.min == -1 else None
    if name in ("logit", "special_logit") and x.max == 1:
        return "zero"  # logit(1) = log(1/0)
    if x.n_negative or (x.min is not None and x.min < 0):
        if x.n_zero and ctx.op is not None and not output_has(ctx.op, "nan"):
            return "zero"
        return "negative"
    return "zero" if x.n_zero or x.min == 0 else None


def check_log_of_zero(ctx: Context) -> Verdict | None:
    """NS201: a log-family op (or CTC) met an exact 0 (or an impossible alignment)."""
    op, name = ctx.op, ctx.op_name
    if op is None or ctx.phase not in _FORWARD + ("backward",):
        return None
    if name in CTC_OPS and output_has(op, "inf"):
        return Verdict(0.75, f"CTC loss is infinite at {place(op)}: some input sequence is too short for its "
                       "target (its probability is exactly 0)",
                       keep(where(ctx), samples(ctx)),
                       (fix("check lengths", "every input_length must be >= its target_length (plus repeats)"),
                        fix("drop impossible samples", "`F.ctc_loss(..., zero_infinity=True)` once the listed samples "
                            "are confirmed impossible")))
    if name not in LOG_OPS:
        return None
    edge = _log_edge(ctx)
    x = _log_arg(ctx)
    if edge == "negative":
        return None
    if edge == "zero":
        conf = 0.9 if ctx.phase != "backward" else 0.85
    elif x is None:
        conf = 0.75 if output_has(op, "neginf") and not output_has(op, "nan") else 0.55
    elif output_has(op, "neginf"):
        conf = 0.6  # zeros not in the recorded stats (e.g. an underflow after the cast)
    else:
        return None
    code = code_of(op)
    ev = [where(ctx)]
    if x is not None:
        ev.append(f"its input {stats_line(x)}")
    if src.mentions(code, "softmax", "sigmoid"):
        ev.append("the input is a softmax/sigmoid probability: in float32 it rounds to exactly 0 once a logit "
                  "is ~100 below the largest (sigmoid below about -88)")
    eps = src.lost_epsilon(code)
    if eps:
        ev.append(f"the epsilon {eps} protects nothing: in float32 1 + {eps} == 1, so `1 - p` is still 0")
    ev.append(samples(ctx))
    if x is not None and x.requires_grad is False:  # no parameter behind the 0: a quantity of the data
        ev.append("no gradient flows through the log's input: it is computed from the data alone, so the 0 is "
                  "a value of the data (a count, a duration, a price), not a probability the model produced")
        return Verdict(conf, f"`{op.op}` at {place(op)} took the log of an exact 0 in the data (a zero count, "
                       "length or price), not a model probability", keep(*ev), _data_log_fixes(ctx))
    return Verdict(conf, f"`{op.op}` at {place(op)} took the log of an exact 0: a probability that rounded to 0 "
                   "(saturated softmax/sigmoid or a zero in the data)", keep(*ev), _log_fixes(ctx))


def _data_log_fixes(ctx: Context) -> tuple[Fix, ...]:
    """A log of a data quantity: decide what a 0 means. Clamping is safe here (no gradient to kill)."""
    at = place(ctx.op)
    fixes = (fix("decide what a 0 means", f"at {at} use `torch.log1p(x)` for a count that can be 0, or "
                 "`torch.log(x.clamp(min=m))` with the smallest meaningful value m (one day, one unit): no gradient "
                 "flows through x, so the clamp costs no learning signal"),)
    if ctx.finding is not None and (ctx.finding.bad_samples or ctx.finding.batch_positions):
        fixes += (fix("check the samples", "the listed samples carry the 0; if a 0 is impossible for them, they "
                      "are dirty: fix or drop them in the dataset"),)
    return fixes


def _log_fixes(ctx: Context) -> tuple[Fix, ...]:
    code = code_of(ctx.op)
    rw = src.log_rewrite(code)
    first: list[Fix] = []
    if rw:
        old, new = rw
        action = "use log_softmax" if "softmax" in new else "use logsigmoid"
        first.append(fix(action, f"replace `{old}` at {place(ctx.op)} with `{new}`"))
    elif src.mentions(code, "sigmoid"):
        first.append(fix("use logsigmoid", f"at {place(ctx.op)} write log(sigmoid(z)) as `F.logsigmoid(z)` and "
                         "log(1 - sigmoid(z)) as `F.logsigmoid(-z)`, or use `F.binary_cross_entropy_with_logits`"))
    fixes = tuple(first) + NO_LOG_SPACE
    if ctx.finding is not None and ctx.finding.bad_samples:
        fixes += (fix("check the samples", "the listed samples drive the probability to 0; inspect them, the fix "
                      "above still applies"),)
    return fixes


def check_invalid_domain(ctx: Context) -> Verdict | None:
    """NS202: log/sqrt of a negative, acos/asin beyond ±1, a pole of lgamma, x**p with x<0."""
    op, name = ctx.op, ctx.op_name
    if op is None or ctx.phase not in _FORWARD + ("backward",):
        return None
    x = first_input(op)
    conf, why = 0.0, ""
    neg = x is not None and (x.n_negative > 0 or (x.min is not None and x.min < 0))
    if name in LOG_OPS and _log_edge(ctx) == "negative":
        conf, why = 0.9, "the log of a negative number"
    elif name in SQRT_OPS | RSQRT_OPS and neg:
        conf, why = (0.9 if ctx.phase != "backward" else 0.85), "the square root of a negative number"
    elif name in POW_OPS and neg and (output_has(op, "nan") or op.output is None):
        conf, why = 0.85, "a negative base raised to a fractional power"
    elif name in ARC_OPS and x is not None and x.absmax is not None and x.absmax > 1:
        conf, why = 0.9, f"`{name}` of a value beyond ±1 (|x| up to {num(x.absmax, 4)})"
    elif name in ATANH_OPS and x is not None and x.absmax is not None and x.absmax >= 1:
        conf, why = 0.85, f"`{name}` at or beyond ±1 (|x| up to {num(x.absmax, 4)})"
    elif name in POLE_OPS and x is not None and (x.n_zero or neg):
        conf, why = 0.75, f"`{name}` at a pole (0 or a negative integer)"
    elif x is None and output_has(op, "nan") and name in SQRT_OPS | ARC_OPS | LOG_OPS and ctx.phase != "backward":
        conf, why = 0.65, f"`{name}` outside its real domain"
    if not conf:
        return None
    ev = keep(where(ctx), f"its input {stats_line(x)}" if x is not None else None, samples(ctx),
              "the NaN leaks through the unselected branch of `where`: its gradient is still computed"
              if ctx.phase == "backward" and src.is_masked_where(code_of(op)) else None)
    return Verdict(conf, f"{why[0].upper()}{why[1:]} at {place(op)}", ev, _domain_fixes(ctx, name))


def _domain_fixes(ctx: Context, name: str) -> tuple[Fix, ...]:
    code, at = code_of(ctx.op), place(ctx.op)
    out: list[Fix] = []
    if name in ARC_OPS | ATANH_OPS:
        out.append(fix("keep the argument inside [-1, 1]", f"rounding pushes a cosine past ±1: at {at} use "
                       f"`nansentry.safe.{'acos' if name in ('acos', 'arccos') else name}` or clamp the cosine to "
                       "[-1 + 1e-6, 1 - 1e-6] before the arc function (its derivative is infinite at ±1)"))
        out.append(fix("use atan2", "compute the angle as `torch.atan2(cross_norm, dot)`, finite everywhere"))
        return tuple(out)
    if src.is_masked_where(code):
        out.append(fix("use the double-where", f"at {at} mask the input, not the output: "
                       "`torch.where(cond, f(torch.where(cond, x, 1.0)), 0.0)`"))
    if src.mentions(code, "mean") and "**" in (code or ""):
        out.append(fix("compute the variance stably", f"E[x²] - E[x]² at {at} can round below 0: use "
                       "`torch.var(x, unbiased=False)` (or `x.var(dim)`)"))
    if name in POW_OPS:
        out.append(fix("handle the sign", f"at {at} use `x.sign() * x.abs() ** p`, or make the base positive by "
                       "construction (softplus/exp parametrisation)"))
    out.append(fix("make the input valid by construction", f"the input of `{name}` at {at} must be "
                   f"{'> 0' if name in LOG_OPS else '>= 0'}: produce it with softplus/exp/square, or find why it "
                   "went negative (a subtraction that rounds below 0, a sign error)"))
    return tuple(out)


def adam_eps(ctx: Context) -> tuple[float, str] | None:
    """(eps, reason) when an Adam-like optimizer divides by sqrt(v) + eps with eps effectively 0."""
    half = any(is_half(d) for d in ctx.run.param_dtypes) or (ctx.op is not None and is_half(op_dtype(ctx.op)))
    for o in ctx.run.optimizers:
        eps = o.get("eps")
        if eps is None:
            continue
        if eps == 0:
            return 0.0, f"{o.get('name', 'the optimizer')} has eps=0"
        if half and eps < 6e-8:  # float16's smallest subnormal is 6e-8: 1e-8 rounds to 0
            return float(eps), f"{o.get('name', 'the optimizer')} has eps={eps}, which rounds to 0 in float16"
    return None


def check_division_by_zero(ctx: Context) -> Verdict | None:
    """NS203: x/0 or 0/0: a zero norm/std/count, a fully masked softmax row, Adam with eps=0."""
    op, name, phase = ctx.op, ctx.op_name, ctx.phase
    if phase == "optimizer":
        adam = adam_eps(ctx)
        if adam is None:
            return None
        conf = 0.92 if op is None or name in ("addcdiv", "div", "sqrt", "add", "reciprocal", "") else 0.7
        fixes = (fix("set a positive eps", f"{adam[1]}: construct it with `eps=1e-8` (1e-4 for float16 parameters)"),)
        if adam[0] > 0:
            fixes += (fix("keep float32 master weights", "train with float32 parameters under autocast instead of "
                          "`model.half()`"),)
        who = f" for `{op.param}`" if op is not None and op.param else ""
        return Verdict(conf, f"{adam[1]}: the update m / (sqrt(v) + eps) divides by 0{who}",
                       keep(where(ctx), f"{adam[1]}; a parameter whose gradient was exactly 0 so far has v = 0 and "
                            "m = 0, so its update is 0/0"), fixes)
    if op is None or phase not in _FORWARD + ("backward",):
        return None
    conf, why, fixes = _division_kind(ctx)
    if not conf:
        return None
    y = divisor(op) if name in DIV_OPS else first_input(op)
    ev = keep(where(ctx), f"the {'denominator' if name in DIV_OPS else 'input'} {stats_line(y)}" if y else None,
              samples(ctx))
    return Verdict(conf, f"{why} at {place(op)}", ev, fixes)


def _division_kind(ctx: Context) -> tuple[float, str, tuple[Fix, ...]]:
    """Which x/0 this is, how sure, and its fixes."""
    op, name = ctx.op, ctx.op_name
    assert op is not None
    at, code = place(op), code_of(op)
    x = first_input(op)
    generic = (fix("guard the denominator", f"at {at} use `nansentry.safe.div(a, b)` or make the denominator "
                   "positive by construction (`count.clamp(min=1)`, `std + 1e-5`)"),)
    if name in DIV_OPS or name in RSQRT_OPS:
        y = divisor(op)
        zeros = y is not None and (y.n_zero > 0 or y.min == 0 == y.max)
        if ctx.phase == "backward" and not zeros:
            return 0.0, "", ()  # a tiny (not zero) denominator in backward is a singular gradient
        conf = (0.9 if ctx.phase != "backward" else 0.85) if zeros else (0.7 if y is None else 0.0)
        if not conf:
            return 0.0, "", ()
        if src.mentions(code, "norm", "sqrt"):
            return conf, "A vector with norm 0 is divided by its norm", (
                fix("normalise safely", f"at {at} use `F.normalize(x, dim=-1)` or `nansentry.safe.normalize`, which "
                    "keep a zero vector at 0"),) + generic
        if src.mentions(code, "std", "var"):
            return conf, "A constant signal is divided by its standard deviation 0", (
                fix("add eps to the std", f"at {at} divide by `x.std(dim, keepdim=True) + 1e-5`, or use "
                    "`F.layer_norm`"),) + generic
        if src.mentions(code, "sum", "count_nonzero") or "mask" in (code or ""):
            return conf, "A sum is divided by an empty count (a mask with no entries)", (
                fix("clamp the count", f"at {at} divide by `mask.sum().clamp(min=1)`"),) + generic
        return conf, "A division by 0", generic
    if name in SOFTMAX_OPS and (op.masked_inputs or (x is not None and x.n_neginf)):
        return 0.9, "A softmax over a row that is entirely masked with -inf (0/0)", (
            fix("use a masked softmax", f"at {at} use `nansentry.safe.masked_softmax(scores, mask)`, which gives 0 "
                "for fully masked rows"),
            fix("keep one position", "make sure every row keeps at least one unmasked position (e.g. never mask "
                "the first token), or fill with `torch.finfo(x.dtype).min` instead of -inf"))
    labels_bad = ctx.finding is not None and ctx.finding.label_out_of_range
    if name in MEAN_OPS and output_has(op, "nan") and inputs_finite(op) and not labels_bad:
        if x is not None and x.numel == 0:
            return 0.9, "A mean over an empty tensor (0/0)", (
                fix("skip empty selections", f"at {at} guard with `if x.numel() > 0` or divide a sum by "
                    "`count.clamp(min=1)`"),)
        if name in ("std", "var", "std_mean", "var_mean") and x is not None and x.numel <= 1:
            return 0.85, "The standard deviation of a single value (divides by n - 1 = 0)", (
                fix("use the biased estimator", f"at {at} pass `unbiased=False` (`correction=0`), or require "
                    "batches with more than one sample (`drop_last=True`)"),)
        if name.startswith("nll_loss") or name.startswith("cross_entropy"):
            return 0.8, "A cross-entropy whose targets are all `ignore_index` (the mean of an empty set)", (
                fix("skip batches with no valid target", f"at {at} compute the loss only when "
                    "`(target != ignore_index).any()`, or use reduction='sum' divided by `n_valid.clamp(min=1)`"),)
        return 0.6, f"`{name}` averaged over nothing", generic
    if name in NORM_LAYER_OPS and output_has(op, "nan") and inputs_finite(op):
        return 0.6, "A normalisation layer divided by a zero variance", (
            fix("use a positive eps", f"the normalisation at {at} needs eps > 0 (default 1e-5)"),)
    if name in POW_OPS and x is not None and x.n_zero and output_has(op, "inf") and not output_has(op, "nan"):
        return 0.8, "0 raised to a negative power", generic
    return 0.0, "", ()


def check_singular_gradient(ctx: Context) -> Verdict | None:
    """NS204: a finite forward value whose derivative is infinite (sqrt/norm/pow at 0, acos at ±1)."""
    op, name = ctx.op, ctx.op_name
    if op is None or not (ctx.phase == "backward" or (op.grad_op and ctx.phase != "optimizer")):
        return None
    x = first_input(op)
    if op.grad_op and len(op.inputs) > 1:
        # a backward node's inputs are (incoming grad, saved tensors...): the saved forward
        # value (e.g. sqrt's result) is where the singular point shows
        x = next((t for t in op.inputs[1:] if t.n_zero or t.n_one), op.inputs[1])
    conf, why = 0.0, ""
    if name in SINGULAR_AT_ONE and x is not None and (x.n_one or x.absmax == 1):
        if x.absmax is not None and x.absmax > 1:
            return None  # outside the domain: the forward was NaN already (NS202)
        conf, why = 0.9, f"`{name}` at exactly ±1, where its derivative -1/sqrt(1 - x²) is infinite"
    elif name in SINGULAR_AT_ZERO and name not in DIV_OPS and x is not None and (x.n_zero or x.min == 0):
        if x.n_negative or (x.min is not None and x.min < 0):
            conf, why = 0.55, f"`{name}` at 0 (the input also held negatives)"
        else:
            conf, why = 0.9, f"`{name}` at exactly 0, where its derivative is infinite"
    elif name in DIV_OPS:
        y = divisor(op)
        if y is not None and not y.n_zero and y.absmax is not None and y.min is not None and abs(y.min) < 1e-15:
            conf, why = 0.75, f"a division by a tiny denominator ({num(y.min)}), whose square underflows in the gradient"
    elif name in SINGULAR_AT_ZERO | SINGULAR_AT_ONE and x is None:
        conf, why = 0.7, f"the derivative of `{name}` at its singular point"
    elif x is None and src.mentions(code_of(op), "sqrt", "norm", "acos", "asin"):
        conf, why = 0.45, "a singular derivative in the line's sqrt/norm/acos"
    if not conf:
        return None
    ev = keep(where(ctx), "the forward value was finite; only the derivative is infinite",
              f"the forward input {stats_line(x)}" if x is not None else None, samples(ctx))
    return Verdict(conf, f"Infinite gradient: {why} ({place(op)})", ev, _singular_fixes(ctx, name))


def _singular_fixes(ctx: Context, name: str) -> tuple[Fix, ...]:
    code, at = code_of(ctx.op), place(ctx.op)
    out: list[Fix] = []
    if name in SINGULAR_AT_ONE:
        return (fix("use a safe acos", f"at {at} use `nansentry.safe.acos`, or clamp the cosine to "
                    "[-1 + 1e-6, 1 - 1e-6] before it"),
                fix("use atan2", "compute the angle as `torch.atan2(cross_norm, dot)`"))
    if src.is_masked_where(code):
        out.append(fix("use the double-where", f"at {at} mask the input too: "
                       "`torch.where(cond, torch.sqrt(torch.where(cond, x, 1.0)), 0.0)`"))
    if name in NORM_OPS or (src.mentions(code, "sqrt") and ("**" in (code or "") or src.mentions(code, "sum"))):
        out.append(fix("use a norm with a safe gradient", f"at {at} use `torch.linalg.vector_norm(x, dim=...)`, "
                       "`F.normalize`, or `nansentry.safe.norm` / `nansentry.safe.normalize` (zero subgradient at 0)"))
    if name in SQRT_OPS or name in POW_OPS:
        out.append(fix("use a safe sqrt", f"at {at} use `nansentry.safe.sqrt(x)` (gradient 0 at 0) or "
                       "`torch.sqrt(x + 1e-12)`" if name in SQRT_OPS else
                       f"at {at} write `(x + 1e-12) ** p` for p < 1, or use `nansentry.safe.sqrt` for p = 0.5"))
    if name in DIV_OPS:
        out.append(fix("guard the denominator", f"at {at} use `nansentry.safe.div(a, b)`"))
    if not out:
        out.append(fix("avoid the singular point", f"keep the input of `{name}` at {at} away from its singular "
                       "point or use the matching `nansentry.safe` function"))
    return tuple(out)
