"""Shared predicates: is a value guarded, can it be exactly 0, is it under a where.

Why: NS103 (division), NS104 (roots) and NS111 (where branches) ask the same
questions about a denominator or a radicand; answering them in one place keeps
the checks consistent about what counts as an epsilon guard.
"""

from __future__ import annotations

import ast

from nansentry.lint.context import Context
from nansentry.lint.syntax import (
    CLIPS, NORMS, PASS_THROUGH, STDS, SUMS, VARIANCES, WHERES, callee, has_eps_term, is_eps,
    number, operand, same,
)

_MAX_DEPTH = 8
GUARDS = CLIPS | frozenset({"max", "where", "select", "abs_", "nan_to_num", "softplus", "exp"})


def is_guarded(ctx: Context, node: ast.AST) -> bool:
    """`d + eps`, `d.clamp_min(eps)`, `tf.maximum(d, eps)`, `max(d, eps)`, `where(...)`."""
    if has_eps_term(node):
        return True
    if isinstance(node, ast.Call) and callee(node) in GUARDS:
        return True
    return isinstance(node, ast.Call) and callee(node) in PASS_THROUGH \
        and operand(node, ctx.modules) is not None and is_guarded(ctx, operand(node, ctx.modules))


def is_square(ctx: Context, node: ast.AST) -> bool:
    """`x ** 2`, `x * x`, `square(x)`, `pow(x, 2)`, `x.pow(2)`."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return number(node.right) == 2
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return same(node.left, node.right)
    if isinstance(node, ast.Call):
        if callee(node) in ("square", "sqr", "abs2", "squared_difference", "mse_loss", "l2_loss",
                            "mean_squared_error", "mse", "MSELoss"):
            return True
        if callee(node) in ("pow", "power"):
            exponent = node.args[-1] if node.args else None
            return number(exponent) == 2
    return False


def zero_radicand(ctx: Context, node: ast.AST, depth: int = 0) -> str | None:
    """Why `node`, fed to a root, can be exactly 0 ("a sum of squares", "a variance")."""
    if depth > _MAX_DEPTH or is_guarded(ctx, node):
        return None
    again = lambda n: zero_radicand(ctx, n, depth + 1)  # noqa: E731
    if is_square(ctx, node):
        return "a square"
    if isinstance(node, ast.Call):
        name = callee(node)
        if name in VARIANCES:
            return "a variance"
        inner = operand(node, ctx.modules)
        if inner is not None and (name in SUMS or name in PASS_THROUGH or name in ("dot", "tensordot")):
            kind = again(inner)
            return "a sum of squares" if kind and name in SUMS else kind
        return None
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Add):
            left, right = again(node.left), again(node.right)
            return "a sum of squares" if left and right else None
        if isinstance(node.op, (ast.Sub, ast.Div)):
            return again(node.left)
        if isinstance(node.op, ast.Mult):
            return again(node.left) or again(node.right)
        return None
    target = ctx.follow(node)
    return again(target) if target is not None else None


def is_difference(ctx: Context, node: ast.AST, depth: int = 0) -> bool:
    """`a - b`, directly or through a name: a distance that is 0 when a == b."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
        return number(node.left) is None and number(node.right) is None
    if isinstance(node, (ast.Name, ast.Attribute)):
        value = ctx.resolve(node)
        return value is not None and is_difference(ctx, value, depth + 1)
    return False


def is_mask_like(ctx: Context, node: ast.AST, depth: int = 0) -> bool:
    """A boolean/0-1 mask: a comparison, a name with `mask`, or a cast of one."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, ast.Compare):
        return True
    if isinstance(node, ast.Name):
        if "mask" in node.id.lower() or "valid" in node.id.lower():
            return True
        value = ctx.resolve(node)
        return value is not None and is_mask_like(ctx, value, depth + 1)
    if isinstance(node, ast.Attribute):
        return "mask" in node.attr.lower()
    if isinstance(node, ast.Call) and callee(node) in PASS_THROUGH | {"cast", "astype", "bool", "long", "int"}:
        inner = operand(node, ctx.modules)
        return inner is not None and is_mask_like(ctx, inner, depth + 1)
    return False


def zero_denominator(ctx: Context, node: ast.AST, depth: int = 0) -> str | None:
    """Why a denominator can be exactly 0 ("a norm", "a std", "a mask count"), or None."""
    if depth > _MAX_DEPTH or is_guarded(ctx, node) or is_eps(node):
        return None
    again = lambda n: zero_denominator(ctx, n, depth + 1)  # noqa: E731
    if isinstance(node, ast.Call):
        name = callee(node)
        inner = operand(node, ctx.modules)
        if name in NORMS:
            return "a norm"
        if name in STDS:
            return "a standard deviation"
        if name in VARIANCES:
            return "a variance"
        if name in ("sqrt", "rsqrt") and inner is not None:
            kind = zero_radicand(ctx, inner)
            return f"the root of {kind}" if kind else None
        if name == "count_nonzero":
            return "a count"
        if name in ("sum", "reduce_sum") and inner is not None and is_mask_like(ctx, inner):
            return "a mask count"
        if name in PASS_THROUGH and inner is not None:
            return again(inner)
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and number(node.right) == 0.5:
        kind = zero_radicand(ctx, node.left)
        return f"the root of {kind}" if kind else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return again(node.left) or again(node.right)
    target = ctx.follow(node)
    return again(target) if target is not None else None


def where_branch(ctx: Context, node: ast.AST) -> ast.Call | None:
    """The `where(cond, a, b)` call whose a/b branch holds `node`, if any."""
    child, parent = node, ctx.parent(node)
    while parent is not None and not isinstance(parent, ast.stmt):
        if isinstance(parent, ast.Call) and callee(parent) in WHERES and child in parent.args[1:3]:
            return parent
        child, parent = parent, ctx.parent(parent)
    return None
