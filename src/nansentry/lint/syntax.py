"""Small AST vocabulary shared by the checks: names, operands, constants.

Why: every framework spells the same op five ways (`torch.log(x)`, `x.log()`,
`tf.math.log(x)`, `K.log(x)`, `T.log(x)`); the checks speak of *ops* ("a log",
"a softmax") and this module maps spellings to ops without importing anything.
"""

from __future__ import annotations

import ast
import math
import struct

# Names that are modules (or module-like namespaces) even without an import in
# the snippet: a call on them is a function call whose operand is the first argument.
MODULE_ROOTS = frozenset({
    "torch", "F", "nn", "functional", "tf", "keras", "K", "backend", "T", "theano", "tensor",
    "nnet", "np", "numpy", "jnp", "jax", "math", "scipy", "special", "layers", "ops",
    "optim", "optimizers", "optax", "linalg", "self", "cls", "activations", "losses",
})

LOGS = frozenset({"log", "log2", "log10", "log_"})
SOFTMAXES = frozenset({"softmax", "Softmax", "softmax_v2"})
SIGMOIDS = frozenset({"sigmoid", "Sigmoid", "expit", "hard_sigmoid", "hardsigmoid", "Hardsigmoid"})
RELUS = frozenset({"relu", "ReLU", "relu6", "ReLU6"})
CLIPS = frozenset({"clamp", "clip", "clip_by_value", "clamp_min", "clamp_", "clip_", "maximum"})
NORMS = frozenset({"norm", "vector_norm", "euclidean_norm", "dist"})
STDS = frozenset({"std", "reduce_std", "nanstd", "stddev"})
VARIANCES = frozenset({"var", "reduce_variance", "nanvar", "variance"})
SUMS = frozenset({"sum", "reduce_sum", "nansum", "count_nonzero", "mean", "reduce_mean"})
MAXES = frozenset({"max", "amax", "reduce_max", "nanmax", "logsumexp", "reduce_logsumexp", "stop_gradient"})
WHERES = frozenset({"where", "select"})
# Ops that keep a zero a zero: indexing, reshaping, casting, copying.
PASS_THROUGH = frozenset({
    "view", "reshape", "squeeze", "unsqueeze", "float", "double", "half", "t", "transpose",
    "permute", "gather", "index_select", "masked_select", "flatten", "contiguous", "to", "type",
    "clone", "detach", "expand", "expand_as", "narrow", "select", "take_along_dim", "diagonal",
    "diag", "diag_part", "expand_dims", "gather_nd", "boolean_mask", "take_along_axis", "cast",
    "squeeze_", "unsqueeze_", "identity", "flatten_", "ravel", "stop_gradient", "cpu", "cuda",
})


def dotted(node: ast.AST) -> str | None:
    """`tf.math.log` -> "tf.math.log"; None when the chain holds a call or subscript."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def root(node: ast.AST) -> str | None:
    """The leftmost name of an attribute chain (`tf` in `tf.nn.softmax`)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def callee(node: ast.AST) -> str:
    """The op name a call invokes: `log` for `torch.log(x)`, `x.log()` and `log(x)`."""
    if not isinstance(node, ast.Call):
        return ""
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return ""


def is_module_call(call: ast.Call, modules: frozenset[str]) -> bool:
    """True for `torch.log(x)` / `log(x)`, False for the method form `x.log()`."""
    if isinstance(call.func, ast.Name):
        return True
    return isinstance(call.func, ast.Attribute) and root(call.func.value) in modules


def operand(call: ast.Call, modules: frozenset[str]) -> ast.expr | None:
    """The tensor an op acts on: first argument of a function, receiver of a method."""
    if is_module_call(call, modules):
        if call.args and not isinstance(call.args[0], ast.Starred):
            return call.args[0]
        for kw in call.keywords:
            if kw.arg in ("input", "x", "t", "tensor", "a", "features", "logits"):
                return kw.value
        return None
    return call.func.value if isinstance(call.func, ast.Attribute) else None


def arg(call: ast.Call, index: int, *names: str) -> ast.expr | None:
    """Argument by keyword (any of `names`) or by position `index` (-1: keyword only)."""
    for kw in call.keywords:
        if kw.arg in names:
            return kw.value
    if 0 <= index < len(call.args) and not isinstance(call.args[index], ast.Starred):
        return call.args[index]
    return None


def number(node: ast.AST | None) -> float | None:
    """The value of a numeric literal, `-1e-8`, `1 - 1e-7`, `float('-inf')`; else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = number(node.operand)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        a, b = number(node.left), number(node.right)
        if a is None or b is None:
            return None
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        return a / b if b else None
    if isinstance(node, ast.Call) and callee(node) == "float" and node.args:
        text = node.args[0]
        if isinstance(text, ast.Constant) and isinstance(text.value, str):
            try:
                return float(text.value)
            except ValueError:
                return None
    if isinstance(node, ast.Attribute) and node.attr in ("inf", "Inf", "infty", "PINF"):
        return math.inf
    if isinstance(node, ast.Attribute) and node.attr == "NINF":
        return -math.inf
    return None


def as_float32(value: float) -> float:
    """Round a Python float to float32: `1e-10 + 1` is exactly 1 there."""
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def is_neg_inf(node: ast.AST | None) -> bool:
    """`float('-inf')`, `-float('inf')`, `-np.inf`, `-math.inf`, `np.NINF`, `-torch.inf`."""
    return number(node) == -math.inf


def mentions_neg_inf(node: ast.AST) -> bool:
    """Whether -inf appears anywhere inside `node`."""
    return any(is_neg_inf(n) for n in ast.walk(node))


_EPS_WORDS = ("eps", "epsilon", "tiny", "smooth", "stab")


def is_eps(node: ast.AST) -> bool:
    """A small positive guard: a literal, `eps`, `self.eps`, `K.epsilon()`, `finfo(t).eps`."""
    v = number(node)
    if v is not None:
        return v > 0
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = node.id if isinstance(node, ast.Name) else node.attr
        return any(w in name.lower() for w in _EPS_WORDS)
    if isinstance(node, ast.Call):
        return callee(node) in ("epsilon", "eps")
    return False


def has_eps_term(node: ast.AST) -> bool:
    """`x + eps`, `eps + x`, `x + 1e-8 + y`: an addition with a positive guard term."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return is_eps(node.left) or is_eps(node.right) or has_eps_term(node.left) or has_eps_term(node.right)
    return False


def short(node: ast.AST, limit: int = 80) -> str:
    """`ast.unparse`, cut to `limit` characters for messages."""
    text = ast.unparse(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def same(a: ast.AST | None, b: ast.AST | None) -> bool:
    """Structural equality by source text."""
    return a is not None and b is not None and ast.unparse(a) == ast.unparse(b)
