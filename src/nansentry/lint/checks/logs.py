"""NS101 log-of-softmax and NS102 clipped-log-input.

Why: the studies of real NaN bugs find `log` first in two thirds of them, nearly
always a hand-written cross-entropy over a softmax or sigmoid output; and the
popular fix, clipping the log's input, trades the NaN for a zero gradient.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from nansentry.lint.context import Context
from nansentry.lint.findings import Finding, finding
from nansentry.lint.syntax import (
    CLIPS, LOGS, PASS_THROUGH, RELUS, SIGMOIDS, SOFTMAXES, SUMS, as_float32, callee, is_eps,
    number, operand, short,
)

_PROB_NAMES = ("prob", "softmax", "sigmoid", "y_pred", "ypred", "y_hat", "yhat", "p_hat", "p_y_given",
               "y_conv", "predictions", "likelihood")
_ACTIVATION_LAYERS = frozenset({"Dense", "Activation", "Conv2D", "Conv1D", "TimeDistributed"})
_MAX_DEPTH = 8


def _kind(name: str) -> str | None:
    if name in SOFTMAXES:
        return "softmax output"
    if name in SIGMOIDS:
        return "sigmoid output"
    if name in RELUS:
        return "relu output"
    return None


def _layer_kind(call: ast.Call) -> str | None:
    """`nn.Softmax(dim=1)`, `Dense(10, activation='softmax')`, `Activation('sigmoid')`."""
    kind = _kind(callee(call))
    if kind:
        return kind
    if callee(call) in _ACTIVATION_LAYERS:
        for value in [kw.value for kw in call.keywords if kw.arg == "activation"] + call.args[:1]:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return _kind(value.value)
    return None


def zero_source(ctx: Context, node: ast.AST, depth: int = 0) -> str | None:
    """What makes `node` exactly 0 at saturation ("softmax output", ...), or None."""
    if depth > _MAX_DEPTH:
        return None
    again = lambda n: zero_source(ctx, n, depth + 1)  # noqa: E731
    if isinstance(node, ast.Call):
        name = callee(node)
        if _kind(name):
            return _kind(name)
        if isinstance(node.func, ast.Call):  # nn.Softmax(dim=1)(x), Dense(..., 'softmax')(x)
            return _layer_kind(node.func)
        model = ctx.resolve(node.func) if isinstance(node.func, (ast.Name, ast.Attribute)) else None
        if isinstance(model, ast.Call):  # self.act = nn.Softmax(); model = Net(); model(x)
            return _layer_kind(model) or _model_output(ctx, model, depth + 1)
        inner = operand(node, ctx.modules)
        if inner is not None and name in PASS_THROUGH:
            return again(inner)
        if inner is not None and name in SUMS and name not in ("mean", "reduce_mean"):
            return again(inner) if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Mult) else None
        return None
    if isinstance(node, ast.Subscript):
        return again(node.value)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Mult):
            return again(node.left) or again(node.right)
        if isinstance(node.op, ast.Sub) and _is_one(node.left):
            kind = again(node.right)
            return f"1 - {kind}" if kind and "relu" not in kind else None
        return None
    if isinstance(node, (ast.Name, ast.Attribute)):
        value = ctx.resolve(node)
        if value is not None:
            return again(value)
        if isinstance(node, ast.Attribute) and not node.attr.startswith("p_"):
            return None
        name = node.id if isinstance(node, ast.Name) else node.attr
        low = name.lower()
        if any(word in low for word in _PROB_NAMES) and "log" not in low:
            return f"probability (named `{name}`)"
    return None


def _model_output(ctx: Context, model: ast.Call, depth: int) -> str | None:
    """The output kind of `Net()` (its forward's returns) or `Sequential([..., Softmax])`."""
    if callee(model) == "Sequential":
        layers = model.args[0].elts if model.args and isinstance(model.args[0], ast.List) else model.args
        last = layers[-1] if layers else None
        return _layer_kind(last) if isinstance(last, ast.Call) else None
    cls = ctx.classes.get(callee(model))
    methods = [m for m in cls.body if isinstance(m, ast.FunctionDef)
               and m.name in ("forward", "call", "__call__")] if cls else []
    returns = [r.value for m in methods for r in ast.walk(m) if isinstance(r, ast.Return) and r.value]
    kinds = [zero_source(ctx, r, depth + 1) for r in returns]
    return kinds[0] if kinds and all(kinds) else None


def _is_one(node: ast.AST) -> bool:
    """1, 1.0, or 1 plus an epsilon that float32 rounds away (`1e-10 + 1`)."""
    v = number(node)
    return v is not None and as_float32(v) == 1.0


def _clip(ctx: Context, node: ast.AST, depth: int = 0) -> ast.Call | None:
    """The clip/clamp/maximum call that produced `node`, through names and reshapes."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, (ast.Name, ast.Attribute)):
        value = ctx.resolve(node)
        return _clip(ctx, value, depth + 1) if value is not None else None
    if isinstance(node, ast.Subscript):
        return _clip(ctx, node.value, depth + 1)
    if isinstance(node, ast.Call):
        if callee(node) in CLIPS or callee(node) == "max" and any(is_eps(a) for a in node.args[1:]):
            return node
        if callee(node) in PASS_THROUGH and operand(node, ctx.modules) is not None:
            return _clip(ctx, operand(node, ctx.modules), depth + 1)
    return None


def log_calls(ctx: Context) -> Iterator[tuple[ast.Call, ast.expr]]:
    """Every differentiable log call (not `math.log`) with its operand."""
    for call in ctx.nodes(ast.Call):
        name = callee(call)
        if name not in LOGS and name != "log1p" or ctx.is_safe_op(call):
            continue
        if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name) \
                and call.func.value.id == "math":
            continue
        inner = operand(call, ctx.modules)
        if inner is None:
            continue
        if name == "log1p":  # log1p(-p) is log(1 - p)
            if not (isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.USub)):
                continue
            inner = ast.copy_location(ast.BinOp(ast.Constant(1), ast.Sub(), inner.operand), inner)
        yield call, inner


_FIX_SOFTMAX = {
    "torch": "F.log_softmax({z}, dim=-1) (or F.cross_entropy on the logits)",
    "tf": "tf.nn.log_softmax({z}) (or tf.nn.softmax_cross_entropy_with_logits on the logits)",
    "keras": "keras.ops.log_softmax({z}) (or a crossentropy loss with from_logits=True)",
    "theano": "T.nnet.logsoftmax({z})",
    "jax": "jax.nn.log_softmax({z})",
    "numpy": "scipy.special.log_softmax({z})",
}
_FIX_SIGMOID = {
    "torch": "F.logsigmoid({z}) / F.logsigmoid(-{z}) (or F.binary_cross_entropy_with_logits)",
    "tf": "tf.math.log_sigmoid({z}) (or tf.nn.sigmoid_cross_entropy_with_logits)",
    "keras": "keras.ops.log_sigmoid({z}) (or binary_crossentropy with from_logits=True)",
    "theano": "-T.nnet.softplus(-{z}) for log(sigmoid(z)), -T.nnet.softplus({z}) for log(1 - sigmoid(z))",
    "jax": "jax.nn.log_sigmoid({z})",
    "numpy": "-np.logaddexp(0, -{z})",
}


def _fix(ctx: Context, call: ast.Call, inner: ast.expr, kind: str) -> str:
    z = "logits"
    src: ast.AST | None = inner
    for _ in range(_MAX_DEPTH):  # find the softmax/sigmoid call to name its logits
        if isinstance(src, (ast.Name, ast.Attribute)):
            src = ctx.resolve(src)
        elif isinstance(src, ast.BinOp):
            src = src.right if isinstance(src.op, ast.Sub) else src.left
        else:
            break
    if isinstance(src, ast.Call) and _kind(callee(src)) and operand(src, ctx.modules) is not None:
        z = short(operand(src, ctx.modules), 40)
    fw = ctx.framework(call)
    if "softmax" in kind:
        return "use " + _FIX_SOFTMAX.get(fw, _FIX_SOFTMAX["torch"]).format(z=z)
    if "sigmoid" in kind:
        return "use " + _FIX_SIGMOID.get(fw, _FIX_SIGMOID["torch"]).format(z=z)
    return f"compute the loss from logits, or use nansentry.safe.log({short(inner, 40)})"


def check_log_of_softmax(ctx: Context) -> Iterator[Finding]:
    """NS101: log of something a saturated softmax/sigmoid/relu makes exactly 0."""
    for call, inner in log_calls(ctx):
        if _clip(ctx, inner) is not None:
            continue
        kind = zero_source(ctx, inner)
        if kind is None:
            continue
        lost = " (its epsilon is lost: it rounds away next to 1 in float32)" \
            if isinstance(inner, ast.BinOp) and number(inner.left) not in (None, 1.0) else ""
        yield finding(ctx, call, "NS101",
                      f"`{short(call)}` takes the log of a {kind}, which is exactly 0 when it "
                      f"saturates: log(0) = -inf and the gradient is NaN{lost}",
                      _fix(ctx, call, inner, kind))


def check_clipped_log_input(ctx: Context) -> Iterator[Finding]:
    """NS102: log(clip(y, eps, 1)) -- finite, but a fake loss with a dead gradient."""
    for call, inner in log_calls(ctx):
        clip = _clip(ctx, inner)
        if clip is None:
            continue
        yield finding(ctx, call, "NS102",
                      f"`{short(call)}` clips the log's input (`{short(clip, 50)}`): values under "
                      f"the clip get a zero gradient, so the loss is finite but fake",
                      "compute the loss from logits (log_softmax / *_with_logits), or use "
                      "nansentry.safe.log(p), whose gradient below eps is 1/eps instead of 0")
