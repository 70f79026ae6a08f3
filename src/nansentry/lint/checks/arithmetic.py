"""NS103 unguarded-division and NS104 unguarded-sqrt.

Why: `x / x.norm()`, `(x - mu) / std` and `sqrt(sum((a - b) ** 2))` are correct
maths and fine on most batches; they fail on the one degenerate sample (a zero
vector, a constant row, two identical points), often deep into training.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from nansentry.lint.checks.guards import (
    is_difference, where_branch, zero_denominator, zero_radicand,
)
from nansentry.lint.context import Context
from nansentry.lint.findings import Finding, finding
from nansentry.lint.syntax import (
    NORMS, arg, callee, is_module_call, number, operand, root, same, short,
)

_DIVIDES = frozenset({"div", "divide", "true_divide", "truediv", "realdiv"})
_TARGETS = frozenset({"y_true", "y", "target", "targets", "labels", "label", "actual", "y_actual"})


def divisions(ctx: Context) -> Iterator[tuple[ast.AST, ast.expr, ast.expr]]:
    """(node, numerator, denominator) for `a / b`, `a /= b`, `torch.div(a, b)`, `tf.divide`."""
    for node in ctx.nodes((ast.BinOp, ast.AugAssign, ast.Call)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            yield node, node.left, node.right
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Div):
            yield node, node.target, node.value
        elif isinstance(node, ast.Call) and callee(node) in _DIVIDES and not ctx.is_safe_op(node):
            if is_module_call(node, ctx.modules) and len(node.args) >= 2:
                yield node, node.args[0], node.args[1]
            elif not is_module_call(node, ctx.modules) and len(node.args) == 1:
                yield node, node.func.value, node.args[0]  # x.div(n)


def _relative_error(num: ast.expr, den: ast.expr) -> bool:
    """MAPE-style `(y_true - y_pred) / y_true`: dividing by a target that can be 0."""
    core = den.args[0] if isinstance(den, ast.Call) and callee(den) == "abs" and den.args else den
    if not (isinstance(core, ast.Name) and core.id in _TARGETS):
        return False
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub) and
               (same(n.left, core) or same(n.right, core)) for n in ast.walk(num))


def _division_fix(ctx: Context, num: ast.expr, den: ast.expr, kind: str) -> str:
    fw = ctx.framework(den if isinstance(den, ast.Call) else num)
    norm_of_num = isinstance(den, ast.Call) and callee(den) in NORMS and same(operand(den, ctx.modules), num)
    if norm_of_num:
        return {"tf": f"use tf.nn.l2_normalize({short(num, 30)}, axis)",
                "keras": f"use K.l2_normalize({short(num, 30)}, axis)"}.get(
            fw, f"use F.normalize({short(num, 30)}, dim=...) or nansentry.safe.normalize")
    no_nan = "tf.math.divide_no_nan" if fw in ("tf", "keras") else "nansentry.safe.div"
    return f"add an epsilon: `/ ({short(den, 40)} + 1e-8)` (or clamp it from below), or {no_nan}"


def check_unguarded_division(ctx: Context) -> Iterator[Finding]:
    """NS103: division by a norm, std, variance, count or target with no epsilon."""
    for node, num, den in divisions(ctx):
        if where_branch(ctx, node) is not None:
            continue  # NS111's business
        kind = zero_denominator(ctx, den)
        if kind is None and _relative_error(num, den):
            kind = "a target (a relative error)"
        if kind is None:
            continue
        yield finding(ctx, node, "NS103",
                      f"`{short(node)}` divides by {kind}, `{short(den, 50)}`, with no epsilon: "
                      f"it is 0 for a zero vector, a constant row or an empty mask (x/0, 0/0 = NaN)",
                      _division_fix(ctx, num, den, kind))


def roots(ctx: Context) -> Iterator[tuple[ast.AST, ast.expr]]:
    """(node, radicand) for `sqrt(s)`, `s.sqrt()`, `s ** 0.5`, `pow(s, 0.5)`."""
    for node in ctx.nodes((ast.BinOp, ast.Call)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and number(node.right) == 0.5:
            yield node, node.left
        elif isinstance(node, ast.Call) and callee(node) == "sqrt" and operand(node, ctx.modules) is not None \
                and not ctx.is_safe_op(node):
            if not (isinstance(node.func, ast.Attribute) and root(node.func) == "math"):
                yield node, operand(node, ctx.modules)
        elif isinstance(node, ast.Call) and callee(node) in ("pow", "power") and node.args \
                and number(node.args[-1]) == 0.5:
            if len(node.args) == 2:
                yield node, node.args[0]
            elif isinstance(node.func, ast.Attribute) and not is_module_call(node, ctx.modules):
                yield node, node.func.value  # s.pow(0.5)


_NORM_FIX = {
    "tf": "put an epsilon inside the root: tf.sqrt(tf.reduce_sum(tf.square({d}), axis=-1) + 1e-12)",
    "keras": "put an epsilon inside the root: K.sqrt(K.maximum(K.sum(K.square({d}), axis=-1), K.epsilon()))",
    "jax": "put an epsilon inside the root: jnp.sqrt(jnp.sum(({d}) ** 2, axis=-1) + 1e-12)",
    "theano": "put an epsilon inside the root: T.sqrt(T.sum(T.sqr({d}), axis=-1) + 1e-12)",
}


def _norm_of_difference(ctx: Context) -> Iterator[tuple[ast.Call, ast.expr]]:
    """`tf.norm(a - b)`, `jnp.linalg.norm(a - b)`: PyTorch's norm has a 0 gradient at 0."""
    for call in ctx.nodes(ast.Call):
        if callee(call) not in ("norm", "euclidean_norm") or ctx.framework(call) in ("torch", "numpy"):
            continue
        inner = operand(call, ctx.modules)
        order = arg(call, -1, "ord", "p")
        if inner is not None and is_difference(ctx, inner) and number(order) in (None, 2.0):
            yield call, inner


def check_unguarded_sqrt(ctx: Context) -> Iterator[Finding]:
    """NS104: the root of something that is exactly 0 for coinciding points."""
    for node, radicand in roots(ctx):
        if where_branch(ctx, node) is not None or ctx.framework(node) == "numpy" and isinstance(node, ast.Call):
            continue
        kind = zero_radicand(ctx, radicand)
        if kind is None:
            continue
        yield finding(ctx, node, "NS104",
                      f"`{short(node)}` takes the root of {kind}, `{short(radicand, 50)}`, which is "
                      f"0 when the vectors coincide or are zero: d sqrt(s)/ds = inf there, gradient NaN",
                      f"add an epsilon inside: sqrt({short(radicand, 40)} + 1e-12), or "
                      f"nansentry.safe.sqrt / nansentry.safe.norm (gradient 0 at 0)")
    for call, inner in _norm_of_difference(ctx):
        if where_branch(ctx, call) is not None:
            continue
        yield finding(ctx, call, "NS104",
                      f"`{short(call)}` is the norm of a difference, `{short(inner, 50)}`, which is 0 "
                      f"when the points coincide: its gradient is 0/0 = NaN there",
                      _NORM_FIX.get(ctx.framework(call), _NORM_FIX["tf"]).format(d=short(inner, 30)))
