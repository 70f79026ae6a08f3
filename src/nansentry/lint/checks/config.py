"""NS107 optimizer-eps-zero, NS109 relu-recurrent-cell, NS110 half-without-loss-scaling.

Why: these are configuration choices, not expressions: one keyword argument
(eps=0, activation='relu') or one cast (.half()) that makes an otherwise correct
model diverge to NaN after enough steps.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from nansentry.lint.context import Choice, Context
from nansentry.lint.findings import Finding, finding
from nansentry.lint.syntax import arg, callee, dotted, number, short

# Optimizer -> positional index of eps, the same in PyTorch and Keras (-1: keyword only).
_OPTIMIZERS = {"Adam": 3, "AdamW": 3, "Adamax": 3, "NAdam": 3, "Nadam": 3, "RAdam": 3,
               "RMSprop": 3, "RMSProp": 3, "Adagrad": -1, "Adadelta": -1, "AdamOptimizer": 3,
               "RMSPropOptimizer": 3, "AdagradOptimizer": -1, "adam": -1, "adamw": -1,
               "rmsprop": -1, "adagrad": -1, "Adafactor": -1, "SparseAdam": 3}
_RECURRENT = frozenset({"LSTM", "GRU", "RNN", "SimpleRNN", "LSTMCell", "GRUCell", "RNNCell",
                        "SimpleRNNCell", "BasicLSTMCell", "BasicRNNCell", "LSTMBlockCell",
                        "GRUBlockCell", "ConvLSTM2D", "ConvLSTM1D", "ConvLSTM3D", "CuDNNLSTM",
                        "LayerNormBasicLSTMCell", "NASCell", "UGRNNCell", "ConvLSTMCell"})
_UNBOUNDED = frozenset({"relu", "elu", "selu", "leaky_relu", "LeakyReLU", "ReLU", "linear",
                        "softplus", "exponential", "gelu", "swish", "silu", "crelu", "exp"})
_SCALING = ("GradScaler", "LossScaleOptimizer", "loss_scale", "scale_loss", "amp.initialize",
            "mixed_precision", "scaler", "bfloat16", "bf16", "DeepSpeed", "deepspeed", "Accelerator")


def check_optimizer_eps_zero(ctx: Context) -> Iterator[Finding]:
    """NS107: an adaptive optimizer built with eps = 0."""
    for call in ctx.nodes(ast.Call):
        index = _OPTIMIZERS.get(callee(call))
        if index is None:
            continue
        eps = arg(call, index, "eps", "epsilon", "eps_root")
        value = number(eps)
        if value is None or value > 0:
            continue
        yield finding(ctx, call, "NS107",
                      f"`{short(call)}` sets eps to {short(eps)}: a parameter whose gradient has been "
                      f"0 gets the update 0 / (sqrt(0) + 0) = NaN",
                      "drop the argument (default 1e-8 in PyTorch, 1e-7 in Keras) or use eps >= 1e-8 "
                      "(>= 1e-4 with float16 state)")


def _activation_names(ctx: Context, value: ast.AST, depth: int = 0) -> list[str]:
    """The activation names a keyword value can hold ('relu', tf.nn.relu, a loop variable)."""
    if isinstance(value, ast.Name) and depth < 4:
        resolved = ctx.resolve(value)
        if isinstance(resolved, Choice):
            return [n for elt in resolved.elts for n in _activation_names(ctx, elt, depth + 1)]
        if resolved is not None:
            return _activation_names(ctx, resolved, depth + 1)
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return [value.value]
    if isinstance(value, (ast.Name, ast.Attribute)):
        return [(dotted(value) or "").rsplit(".", 1)[-1]]
    if isinstance(value, ast.Call):  # nn.ReLU(), layers.LeakyReLU()
        return [callee(value)]
    return []


def check_relu_recurrent_cell(ctx: Context) -> Iterator[Finding]:
    """NS109: a recurrent cell whose (recurrent) activation is unbounded."""
    for call in ctx.nodes(ast.Call):
        if callee(call) not in _RECURRENT:
            continue
        for kw in call.keywords:
            if kw.arg not in ("activation", "nonlinearity", "recurrent_activation", "act"):
                continue
            bad = [n for n in _activation_names(ctx, kw.value) if n in _UNBOUNDED]
            if bad:
                yield finding(ctx, call, "NS109",
                              f"`{short(call)}` uses {kw.arg}={bad[0]!r} in a recurrent cell: the "
                              f"state can grow without bound along the sequence and overflow to inf",
                              f"keep the default tanh ({kw.arg} removed); with relu, clip gradients "
                              f"and use an identity-initialised recurrent matrix (IRNN)")
                break


def _half_casts(ctx: Context) -> Iterator[ast.Call]:
    for call in ctx.nodes(ast.Call):
        name = callee(call)
        texts = [ast.unparse(a) for a in call.args] + [ast.unparse(k.value) for k in call.keywords]
        fp16 = any(t.endswith(("float16", ".half", "HalfTensor")) or t in ("'float16'", "'half'") for t in texts)
        if name == "half" and not call.args and isinstance(call.func, ast.Attribute):
            yield call
        elif name in ("to", "type", "set_default_dtype") and fp16:
            yield call
        elif name == "autocast" and (fp16 or not texts or "'cuda'" in texts or "device_type='cuda'" in texts) \
                and not any("bfloat16" in t for t in texts):
            yield call


def check_half_without_loss_scaling(ctx: Context) -> Iterator[Finding]:
    """NS110: float16 training (a backward in the file) with no loss scaling anywhere."""
    source = ast.unparse(ctx.tree)
    trains = any(callee(c) in ("backward", "minimize", "apply_gradients", "gradient")
                 for c in ctx.nodes(ast.Call))
    if not trains or any(word in source for word in _SCALING):
        return
    for call in _half_casts(ctx):
        yield finding(ctx, call, "NS110",
                      f"`{short(call)}` trains in float16 without loss scaling: activations over 65504 "
                      f"overflow to inf, gradients under 6e-8 flush to 0, Adam's 1e-8 eps rounds to 0",
                      "keep the weights in float32 and use torch.autocast with torch.amp.GradScaler "
                      "(scaler.scale(loss).backward()), or train in bfloat16")
