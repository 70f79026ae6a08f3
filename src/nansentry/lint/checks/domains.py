"""NS106 unclamped-acos and NS111 where-unsafe-branch.

Why: both fail on the gradient while the forward looks fine. acos has an
infinite slope at +-1 (and a rounded cosine lands on or past 1); `where` selects
values but autograd differentiates both branches, so an inf in the branch not
taken still becomes NaN in the gradient.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from nansentry.lint.checks.guards import is_guarded, where_branch
from nansentry.lint.context import Context
from nansentry.lint.findings import Finding, finding
from nansentry.lint.syntax import (
    CLIPS, LOGS, PASS_THROUGH, WHERES, arg, callee, is_module_call, number, operand, root, same,
    short,
)

_ACOS = frozenset({"acos", "asin", "arccos", "arcsin"})
_MAX_DEPTH = 8


def _clamp_bounds(ctx: Context, node: ast.AST, depth: int = 0) -> tuple[float | None, float | None] | None:
    """(low, high) of the clamp that produced `node` (None inside when not literal)."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, (ast.Name, ast.Attribute)):
        value = ctx.resolve(node)
        return _clamp_bounds(ctx, value, depth + 1) if value is not None else None
    if not isinstance(node, ast.Call):
        return None
    name = callee(node)
    if name in CLIPS | {"hardtanh"}:
        form = 1 if is_module_call(node, ctx.modules) else 0
        low = arg(node, form, "min", "clip_value_min", "a_min", "min_val", "x_min")
        high = arg(node, form + 1, "max", "clip_value_max", "a_max", "max_val", "x_max")
        return (number(low) if low is not None else -2.0, number(high) if high is not None else 2.0)
    if name in PASS_THROUGH and operand(node, ctx.modules) is not None:
        return _clamp_bounds(ctx, operand(node, ctx.modules), depth + 1)
    return None


def check_unclamped_acos(ctx: Context) -> Iterator[Finding]:
    """NS106: acos/asin of a value not clamped strictly inside (-1, 1)."""
    for call in ctx.nodes(ast.Call):
        if callee(call) not in _ACOS or root(call.func) == "math" or ctx.is_safe_op(call):
            continue
        inner = operand(call, ctx.modules)
        if inner is None or number(inner) is not None or where_branch(ctx, call) is not None:
            continue
        bounds = _clamp_bounds(ctx, inner)
        numpy = ctx.framework(call) == "numpy"
        if bounds is not None:
            low, high = bounds
            # Bounds that are not literals (-1 + eps, 1 - self.eps) count as strictly inside.
            strict = (low is None or low > -1.0 or numpy) and (high is None or high < 1.0 or numpy)
            if strict:
                continue
            why = "clamps to [-1, 1], which keeps the infinite slope at the ends"
        else:
            why = "is not clamped: a rounded cosine reaches 1.0000001 (NaN) or exactly 1 (infinite gradient)"
        yield finding(ctx, call, "NS106", f"`{short(call)}` {why}",
                      f"clamp strictly inside: ({short(inner, 30)}).clamp(-1 + 1e-7, 1 - 1e-7), "
                      f"or nansentry.safe.acos({short(inner, 30)})")


def _unsafe_op(ctx: Context, node: ast.AST) -> ast.expr | None:
    """The input at which sqrt/log/division/acos blows up, when `node` is one of them."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return node.right
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and 0 < (number(node.right) or 1) < 1:
        return node.left
    if isinstance(node, ast.Call) and callee(node) in LOGS | _ACOS | {"sqrt", "rsqrt", "reciprocal"}:
        return operand(node, ctx.modules)
    return None


def check_where_unsafe_branch(ctx: Context) -> Iterator[Finding]:
    """NS111: where(cond, f(x), y) with f infinite where cond is false and x unguarded."""
    for call in ctx.nodes(ast.Call):
        if callee(call) not in WHERES or len(call.args) != 3:
            continue
        cond = call.args[0]
        for branch in call.args[1:]:
            for node in ast.walk(branch):
                x = _unsafe_op(ctx, node)
                if x is None or number(x) is not None or is_guarded(ctx, x):
                    continue
                if not any(same(x, n) for n in ast.walk(cond)):
                    continue  # the condition is not about this op's input
                yield finding(ctx, node, "NS111",
                              f"`{short(node)}` sits in a branch of `{short(call.func, 20)}(...)`, but "
                              f"autograd differentiates it where `{short(cond, 30)}` is false too: "
                              f"inf there, and 0 * inf = NaN in the gradient",
                              f"also guard the input (double where): replace `{short(x, 30)}` with "
                              f"where({short(cond, 30)}, {short(x, 20)}, 1), or use nansentry.safe")
                break
