"""Op names as the framework spells them, grouped by how they fail.

The rules reason about an op's *edge*: the inputs at which it stops being finite
(log at 0, sqrt below 0, exp above ~88). Grouping the names here keeps the rules
short and lets a new framework map its names in one place.
"""

from __future__ import annotations

import re

from nansentry.records import OpEvidence, TensorStats

# Largest finite float16 and the exp() inputs that overflow it / float32 / float64.
FP16_MAX = 65504.0
EXP_LIMIT = {"float16": 11.09, "half": 11.09, "bfloat16": 88.72, "float32": 88.72, "float": 88.72, "float64": 709.78}

LOG_OPS = frozenset({"log", "log2", "log10", "log1p", "xlogy", "logit", "special_xlogy", "special_logit"})
CTC_OPS = frozenset({"ctc_loss"})
SQRT_OPS = frozenset({"sqrt"})
RSQRT_OPS = frozenset({"rsqrt"})
POW_OPS = frozenset({"pow", "float_power"})
ARC_OPS = frozenset({"acos", "asin", "arccos", "arcsin"})
ATANH_OPS = frozenset({"atanh", "arctanh", "erfinv", "special_erfinv"})
POLE_OPS = frozenset({"lgamma", "digamma", "polygamma", "mvlgamma"})
NORM_OPS = frozenset({"norm", "linalg_vector_norm", "linalg_norm", "frobenius_norm", "cdist", "pdist", "dist", "_cdist_forward"})
DIV_OPS = frozenset({"div", "true_divide", "divide", "reciprocal", "fmod", "remainder", "floor_divide"})
SOFTMAX_OPS = frozenset({"_softmax", "softmax", "_log_softmax", "log_softmax", "_masked_softmax", "_safe_softmax"})
MEAN_OPS = frozenset({"mean", "nanmean", "std", "var", "std_mean", "var_mean", "nll_loss", "nll_loss2d",
                      "nll_loss_nd", "cross_entropy_loss", "cross_entropy", "binary_cross_entropy", "mse_loss",
                      "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div"})
NORM_LAYER_OPS = frozenset({"native_batch_norm", "batch_norm", "_native_batch_norm_legit", "native_layer_norm",
                            "layer_norm", "native_group_norm", "group_norm", "instance_norm", "rms_norm", "_fused_rms_norm"})
EXP_OPS = frozenset({"exp", "exp2", "expm1", "cosh", "sinh", "special_exp2", "special_expm1"})
OPTIMIZER_DIV_OPS = frozenset({"addcdiv", "div", "sqrt", "reciprocal", "add"})
# Ops whose derivative is infinite at a point where the op itself is finite.
SINGULAR_AT_ZERO = SQRT_OPS | POW_OPS | NORM_OPS | frozenset({"atan2", "arctan2", "div", "true_divide", "divide"})
SINGULAR_AT_ONE = ARC_OPS
# Ops a degenerate sample can push to its edge: everything above.
EDGE_OPS = (LOG_OPS | CTC_OPS | SQRT_OPS | RSQRT_OPS | POW_OPS | ARC_OPS | ATANH_OPS | POLE_OPS | NORM_OPS | DIV_OPS
            | SOFTMAX_OPS | MEAN_OPS | NORM_LAYER_OPS | EXP_OPS)

_SUFFIX = re.compile(r"(Backward\d*|_backward)$")


def canonical(name: str | None) -> str:
    """`aten::_foreach_addcdiv_.Scalar` -> `addcdiv`; `SqrtBackward0` -> `sqrt`.

    Namespaces, overloads, in-place underscores and the foreach prefix say nothing
    about how an op fails, so the rules compare bare names.
    """
    if not name:
        return ""
    n = name.split("::")[-1].split(".")[0]
    if _SUFFIX.search(n):
        n = _SUFFIX.sub("", n)
        n = re.sub(r"(?<!^)(?=[A-Z])", "_", n).lower()  # LinalgVectorNorm -> linalg_vector_norm
    n = n.lower()
    if n.startswith("_foreach_"):
        n = n[len("_foreach_"):]
    if n.endswith("_") and not n.startswith("_"):
        n = n.rstrip("_")
    return n


def is_half(dtype: str | None) -> bool:
    """float16 (not bfloat16, whose range is float32's)."""
    return bool(dtype) and dtype.replace("torch.", "") in ("float16", "half")


def first_input(op: OpEvidence) -> TensorStats | None:
    return op.inputs[0] if op.inputs else None


def divisor(op: OpEvidence) -> TensorStats | None:
    """The denominator of a division: the second input, or the only one (reciprocal)."""
    if len(op.inputs) >= 2:
        return op.inputs[1]
    return op.inputs[0] if op.inputs else None


def inputs_finite(op: OpEvidence) -> bool:
    """True when no input held NaN/+inf, and any -inf was judged an intentional mask."""
    if any(s.n_nan or s.n_posinf for s in op.inputs):
        return False
    return op.masked_inputs > 0 or not any(s.n_neginf for s in op.inputs)


def output_has(op: OpEvidence, kind: str) -> bool:
    """Whether the op's output held `nan`, `inf` (either sign) or `neginf`."""
    o = op.output
    if o is None:
        return False
    if kind == "nan":
        return o.n_nan > 0
    if kind == "neginf":
        return o.n_neginf > 0
    return (o.n_posinf + o.n_neginf) > 0


def max_input(op: OpEvidence) -> float | None:
    """The largest input value, signed: what `exp` overflows on (exp of -1e30 is 0, not inf)."""
    vals = [s.max for s in op.inputs if s.max is not None]
    return max(vals) if vals else None


def max_abs_input(op: OpEvidence) -> float | None:
    """The largest input magnitude: what `pow` overflows on ((-4e27) ** 2 is inf)."""
    vals = [s.absmax for s in op.inputs if s.absmax is not None]
    return max(vals) if vals else None


def op_dtype(op: OpEvidence) -> str:
    """The dtype the op computed in: its own, else its first input's."""
    if op.dtype:
        return op.dtype.replace("torch.", "")
    for s in op.inputs:
        if s.dtype:
            return s.dtype.replace("torch.", "")
    return ""
