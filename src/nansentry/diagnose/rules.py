"""The rule registry: every root cause of the contract, one stable code each."""

from __future__ import annotations

from nansentry.diagnose.data import check_dirty_data, check_unscaled_data
from nansentry.diagnose.dynamics import check_bad_initialization, check_exploding_gradients, check_learning_rate
from nansentry.diagnose.edge import (
    check_division_by_zero, check_invalid_domain, check_log_of_zero, check_singular_gradient,
)
from nansentry.diagnose.fmt import place
from nansentry.diagnose.lines import keep, where
from nansentry.diagnose.overflow import check_exp_overflow, check_fp16_overflow
from nansentry.diagnose.rule import Context, Rule, Verdict, fix
from nansentry.diagnose.texts import TEXTS


def check_unknown(ctx: Context) -> Verdict:
    """NS299: the floor every other rule must beat; stronger when the replay did not fail again."""
    f, s = ctx.finding, ctx.signals
    if not s.has_event:
        return Verdict(0.3, "No non-finite value in the trace", ())
    conf = 0.3
    ev = [where(ctx)]
    if f is not None and f.reproduced is False:
        conf = 0.45
        ev.append(f"the replay of step {f.step} did not fail again: non-determinism or a hardware fault is possible")
    if f is None or f.op is None:
        ev.append(f"the first non-finite value appeared at step {s.fail_step}"
                  + (f" in the {ctx.phase} phase" if ctx.phase else "") + "; no op-level evidence was recorded")
    ev.extend(f.notes if f is not None else ())
    return Verdict(conf, "No known cause fits the evidence" + (f" (failing op at {place(ctx.op)})" if ctx.op else ""),
                   keep(*ev),
                   (fix("inspect the failing line", f"look at {place(ctx.op)} and the values that reach it"),
                    fix("save the full report", "rerun with `nansentry run --report DIR` and open DIR/report.html"),
                    fix("check whether it is transient", "rerun with the same seed, or with `--recover skip`")))


def _rule(code: str, name: str, cause: str, check) -> Rule:  # type: ignore[no-untyped-def]
    t = TEXTS[cause]
    return Rule(code, name, cause, t["what"], t["why"], t["example"], t["fix"], check)


RULES: tuple[Rule, ...] = (
    _rule("NS201", "log-of-zero", "log_of_zero", check_log_of_zero),
    _rule("NS202", "invalid-domain", "invalid_domain", check_invalid_domain),
    _rule("NS203", "division-by-zero", "division_by_zero", check_division_by_zero),
    _rule("NS204", "singular-gradient", "singular_gradient", check_singular_gradient),
    _rule("NS205", "exp-overflow", "exp_overflow", check_exp_overflow),
    _rule("NS206", "fp16-overflow", "fp16_overflow", check_fp16_overflow),
    _rule("NS207", "dirty-data", "dirty_data", check_dirty_data),
    _rule("NS208", "unscaled-data", "unscaled_data", check_unscaled_data),
    _rule("NS209", "exploding-gradients", "exploding_gradients", check_exploding_gradients),
    _rule("NS210", "learning-rate-too-high", "learning_rate_too_high", check_learning_rate),
    _rule("NS211", "bad-initialization", "bad_initialization", check_bad_initialization),
    _rule("NS299", "unknown-cause", "unknown", check_unknown),
)
