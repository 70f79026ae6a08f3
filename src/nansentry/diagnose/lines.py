"""Evidence sentences every rule shares: where it failed, which samples, the trace."""

from __future__ import annotations

from nansentry.diagnose.fmt import code_of, fold, num, place
from nansentry.diagnose.rule import Context
from nansentry.records import OpEvidence


def produced(op: OpEvidence) -> str:
    """What the op's output held: `-inf`, `NaN`, `+inf and NaN`."""
    o = op.output
    if o is None:
        return "a non-finite value"
    kinds = [k for n, k in ((o.n_nan, "NaN"), (o.n_posinf, "+inf"), (o.n_neginf, "-inf")) if n]
    return " and ".join(kinds) if kinds else "a non-finite value"


def where(ctx: Context) -> str | None:
    """`log` produced -inf at train.py:12 (`...`) in the loss phase of step 250."""
    op, f = ctx.op, ctx.finding
    if op is None or f is None:
        return None
    code = code_of(op)
    src = f" (`{code}`)" if code else ""
    mod = f", module `{op.module}`" if op.module else ""
    via = f" (backward node {op.grad_op})" if op.grad_op else ""
    return f"`{op.op}`{via} produced {produced(op)} at {place(op)}{src} in the {f.phase} phase of step {f.step}{mod}"


def samples(ctx: Context) -> str | None:
    """`samples 137, 555 alone reproduce it` (dataset indices, else batch positions)."""
    f = ctx.finding
    if f is None:
        return None
    if f.bad_samples:
        return f"dataset samples {fold(f.bad_samples)} alone reproduce it"
    if f.batch_positions:
        return f"batch positions {fold(f.batch_positions)} alone reproduce it"
    return None


def trace_line(ctx: Context) -> str | None:
    """`loss 2.3 -> 4.1e3 over the last 4 steps; grad norm 1.2 -> 3e5` (what moved)."""
    s = ctx.signals
    parts = []
    if s.first_loss is not None and s.last_loss is not None and s.n_pre >= 2:
        parts.append(f"loss {num(s.first_loss)} at the first step, {num(s.last_loss)} just before the failure")
    if s.grad_ref is not None and s.grad_peak is not None and s.n_pre >= 2:
        parts.append(f"gradient norm {num(s.grad_ref)} early, peak {num(s.grad_peak)}")
    return "; ".join(parts) if parts else None


def keep(*lines: str | None) -> tuple[str, ...]:
    """The non-empty lines, in order."""
    return tuple(x for x in lines if x)
