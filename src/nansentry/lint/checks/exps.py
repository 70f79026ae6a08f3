"""NS105 exp-without-max: hand-written softmax and log-sum-exp without the shift.

Why: exp overflows past 88 in float32; the library softmax subtracts the row
maximum first, a hand-written `exp(x) / sum(exp(x))` does not, and gives
inf / inf = NaN on the first large logit.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from nansentry.lint.checks.logs import log_calls
from nansentry.lint.context import Context
from nansentry.lint.findings import Finding, finding
from nansentry.lint.syntax import MAXES, PASS_THROUGH, SUMS, callee, operand, same, short

_MAX_DEPTH = 8


def _exp_input(ctx: Context, node: ast.AST, depth: int = 0) -> ast.expr | None:
    """x when `node` is exp(x) (directly or through a name); else None."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, ast.Call) and callee(node) == "exp":
        return operand(node, ctx.modules)
    if isinstance(node, (ast.Name, ast.Attribute)):
        value = ctx.resolve(node)
        return _exp_input(ctx, value, depth + 1) if value is not None else None
    return None


def _summed_exp(ctx: Context, node: ast.AST, depth: int = 0) -> ast.expr | None:
    """x when `node` is sum(exp(x)) (any framework's sum, through names and reshapes)."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, ast.Call) and callee(node) in SUMS | PASS_THROUGH and callee(node) != "mean":
        inner = operand(node, ctx.modules)
        if inner is None:
            return None
        return _exp_input(ctx, inner) if callee(node) in SUMS else _summed_exp(ctx, inner, depth + 1)
    if isinstance(node, (ast.Name, ast.Attribute)):
        value = ctx.resolve(node)
        return _summed_exp(ctx, value, depth + 1) if value is not None else None
    return None


def _has_exp_of(ctx: Context, den: ast.AST, num: ast.AST, x: ast.AST) -> bool:
    """Whether the denominator sums exp(x): `e.sum()`, `sum(exp(x))`, `1 + exp(x)`."""
    if _summed_exp(ctx, den) is not None:
        return True
    return any(same(_exp_input(ctx, n), x) or isinstance(num, ast.Name) and same(n, num)
               for n in ast.walk(den) if isinstance(n, (ast.Call, ast.Name)))


def is_shifted(ctx: Context, node: ast.AST, depth: int = 0) -> bool:
    """`x - x.max(...)`, `x - tf.reduce_max(x)`, `x - m` with m a max: safe to exp."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, (ast.Name, ast.Attribute)):
        value = ctx.resolve(node)
        return value is not None and is_shifted(ctx, value, depth + 1)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return True  # exp(-x): a decay, e.g. exp(-dist), not a softmax of logits
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
        return _is_max(ctx, node.right)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return is_shifted(ctx, node.left, depth + 1)
    return not isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.BinOp, ast.Subscript))


def _is_max(ctx: Context, node: ast.AST, depth: int = 0) -> bool:
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, ast.Subscript):
        return _is_max(ctx, node.value, depth + 1)
    if isinstance(node, ast.Attribute) and node.attr in ("values",):
        return _is_max(ctx, node.value, depth + 1)
    if isinstance(node, ast.Call):
        return callee(node) in MAXES or callee(node) in PASS_THROUGH and \
            operand(node, ctx.modules) is not None and _is_max(ctx, operand(node, ctx.modules), depth + 1)
    if isinstance(node, (ast.Name, ast.Attribute)):
        value = ctx.resolve(node)
        return value is not None and _is_max(ctx, value, depth + 1)
    return False


def check_exp_without_max(ctx: Context) -> Iterator[Finding]:
    """NS105: exp(x) / sum(exp(x)) and log(sum(exp(x))) with x not shifted by its max."""
    for node in ctx.nodes(ast.BinOp):
        if not isinstance(node.op, ast.Div):
            continue
        x = _exp_input(ctx, node.left)
        if x is None or is_shifted(ctx, x) or not _has_exp_of(ctx, node.right, node.left, x):
            continue
        yield finding(ctx, node, "NS105",
                      f"`{short(node)}` is a softmax (or sigmoid) written by hand on `{short(x, 40)}` without "
                      f"subtracting its max: exp overflows past 88 (float32), inf / inf = NaN",
                      "use the library softmax (torch.softmax / tf.nn.softmax / jax.nn.softmax), "
                      "or exp(x - x.max(dim, keepdim=True).values)")
    for call, inner in log_calls(ctx):
        x = _summed_exp(ctx, inner)
        if x is None or is_shifted(ctx, x):
            continue
        yield finding(ctx, call, "NS105",
                      f"`{short(call)}` is a log-sum-exp written by hand on `{short(x, 40)}` without "
                      f"subtracting its max: exp overflows to inf",
                      "use torch.logsumexp / tf.reduce_logsumexp / jax.nn.logsumexp")
