"""NS108 inf-mask-softmax: a softmax over scores masked with -inf.

Why: a row whose every position is masked becomes all -inf, and softmax's own
max-shift computes -inf - (-inf) = NaN; the NaN then reaches every parameter.
Causal masks (tril/triu) never mask a whole row and are left alone.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from nansentry.lint.checks.logs import _kind
from nansentry.lint.context import Context
from nansentry.lint.findings import Finding, finding
from nansentry.lint.syntax import PASS_THROUGH, WHERES, callee, mentions_neg_inf, operand, short

_MAX_DEPTH = 10
_CAUSAL = ("tril", "triu", "causal", "self.bias", "look_ahead", "subsequent")


def _is_causal(ctx: Context, mask: ast.AST, depth: int = 0) -> bool:
    if depth > 3:
        return False
    text = ast.unparse(mask)
    if any(word in text for word in _CAUSAL):
        return True
    return any(_is_causal(ctx, v, depth + 1) for n in ast.walk(mask)
               if isinstance(n, ast.Name) and (v := ctx.resolve(n)) is not None)


def _fills_neg_inf(ctx: Context, value: ast.AST, depth: int = 0) -> bool:
    if mentions_neg_inf(value):
        return True
    if depth < 3 and isinstance(value, ast.Name) and (v := ctx.resolve(value)) is not None:
        return _fills_neg_inf(ctx, v, depth + 1)
    return False


def _inf_masked(ctx: Context, node: ast.AST, depth: int = 0) -> ast.AST | None:
    """The masking expression when `node` is scores masked with -inf (not causally)."""
    if depth > _MAX_DEPTH:
        return None
    again = lambda n: _inf_masked(ctx, n, depth + 1)  # noqa: E731
    if isinstance(node, (ast.Name, ast.Attribute)):
        value = ctx.resolve(node)
        return again(value) if value is not None else None
    if isinstance(node, ast.Subscript):
        return again(node.value)
    if isinstance(node, ast.Call):
        name = callee(node)
        if name in ("masked_fill", "masked_fill_") and len(node.args) >= 2:
            hit = _fills_neg_inf(ctx, node.args[1]) and not _is_causal(ctx, node.args[0])
            return node if hit else again(operand(node, ctx.modules) or node.args[0])
        if name in WHERES and len(node.args) == 3:
            filled = node.args[1] if _fills_neg_inf(ctx, node.args[1]) else node.args[2]
            if _fills_neg_inf(ctx, filled) and not _is_causal(ctx, node.args[0]):
                return node
            return None
        if name in PASS_THROUGH and operand(node, ctx.modules) is not None:
            return again(operand(node, ctx.modules))
        return None
    if isinstance(node, ast.BinOp):
        if mentions_neg_inf(node):  # scores + (1 - m) * -inf: also 0 * -inf = NaN on kept positions
            return node if not _is_causal(ctx, node) else None
        if isinstance(node.op, ast.Add):  # scores + attn_mask, the mask built with -inf
            return again(node.left) or again(node.right)
        return again(node.left) if isinstance(node.op, (ast.Div, ast.Mult, ast.Sub)) else None
    return None


def check_inf_mask_softmax(ctx: Context) -> Iterator[Finding]:
    """NS108: softmax(x) where x was masked with -inf by a non-causal mask."""
    for call in ctx.nodes(ast.Call):
        if _kind(callee(call)) != "softmax output" and callee(call) != "log_softmax":
            continue
        inner = operand(call, ctx.modules)
        masked = _inf_masked(ctx, inner) if inner is not None else None
        if masked is None:
            continue
        where = f" (masked at line {masked.lineno})" if masked.lineno != call.lineno else ""
        yield finding(ctx, call, "NS108",
                      f"`{short(call)}` runs on scores masked with -inf{where}: a fully masked row "
                      f"is all -inf and its softmax is NaN",
                      "mask with torch.finfo(scores.dtype).min (tf: scores.dtype.min) instead of "
                      "-inf, or use nansentry.safe.masked_softmax (zeros for fully masked rows)")
