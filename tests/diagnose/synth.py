"""Synthetic traces and findings, one per root cause, built by hand (no framework).

Each builder returns a `Case`: the records a watcher would have written, the finding
forensics would have produced, the run setup, and the cause a person would name.
The traces follow the physics of each cause, not any particular script.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from nansentry.records import Finding, OpEvidence, RunInfo, StepRecord, TensorStats

MODULES = ("embed", "body.0", "body.1", "body.2", "head")
ADAM = {"name": "Adam", "lr": 1e-3, "eps": 1e-8}
SGD = {"name": "SGD", "lr": 0.1}


@dataclass(frozen=True)
class Case:
    cause: str
    records: tuple[StepRecord, ...]
    finding: Finding | None
    run: RunInfo = field(default_factory=lambda: RunInfo(optimizers=(ADAM,), modules=MODULES, has_dataloader=True))


def _wiggle(i: int, amp: float) -> float:
    """Deterministic noise: training losses are never smooth."""
    return amp * math.sin(1.7 * i + 0.3) * math.cos(0.37 * i)


def healthy(n: int, loss0: float = 2.3, grad: float = 1.0, scale: float = 3.0, lr: float = 1e-3,
            start: int = 0) -> list[StepRecord]:
    """A calm run: loss decays with noise, norms steady, unit-scale data."""
    out = []
    for i in range(start, start + n):
        loss = loss0 * (0.4 + 0.6 * math.exp(-i / 40)) * (1 + _wiggle(i, 0.05))
        g = grad * (1 + _wiggle(i + 5, 0.3))
        out.append(StepRecord(
            step=i, loss=loss, grad_norm=g, param_norm=20.0 + 0.01 * i, lr=lr, wall_time=0.01,
            update_ratio=1e-3 if i % 10 == 0 else None,
            module_grad_norms={m: g / math.sqrt(len(MODULES)) * (1 + 0.2 * _wiggle(i + k, 1)) for k, m in enumerate(MODULES)},
            batch_absmax=[scale, 9.0], output_absmax=4.0))
    return out


def failing(step: int, phase: str, **kw: object) -> StepRecord:
    """The record of the failing step as the watcher writes it."""
    base = dict(step=step, loss=float("nan"), grad_norm=float("nan"), lr=1e-3, batch_absmax=[3.0, 9.0],
                nonfinite=True, phase=phase)
    base.update(kw)
    return StepRecord(**base)  # type: ignore[arg-type]


def stats(name: str = "input", **kw: object) -> TensorStats:
    base: dict = dict(name=name, dtype="float32", shape=(64, 10), numel=640, min=-3.0, max=3.0, absmax=3.0)
    base.update(kw)
    return TensorStats(**base)


def op(name: str, phase: str, *, inputs: tuple[TensorStats, ...] = (), out: TensorStats | None = None,
       code: str | None = None, line: int = 12, **kw: object) -> OpEvidence:
    return OpEvidence(op=name, phase=phase, module=kw.pop("module", "head"), file="/home/u/proj/train.py",  # type: ignore[arg-type]
                      line=line, code=code, inputs=inputs, output=out, dtype=kw.pop("dtype", "float32"), **kw)  # type: ignore[arg-type]


NEG_INF = stats("output", n_neginf=37, min=None, max=0.0)
NAN_OUT = stats("output", n_nan=12)
POS_INF = stats("output", n_posinf=5)


def _at(n: int, ev: OpEvidence, phase: str | None = None, **fkw: object) -> tuple[list[StepRecord], Finding]:
    ph = phase or ev.phase
    recs = healthy(n) + [failing(n, ph)]
    return recs, Finding(step=n, phase=ph, op=ev, reproduced=True, **fkw)  # type: ignore[arg-type]


# ---- code bugs at one op -------------------------------------------------------------
def log_softmax_zero() -> Case:
    ev = op("log", "loss", code="loss = -(y * torch.log(F.softmax(z, dim=1))).sum()",
            inputs=(stats(n_zero=37, min=0.0, max=0.99, absmax=0.99),), out=NEG_INF)
    return Case("log_of_zero", *_at(250, ev))


def log_lost_epsilon() -> Case:
    ev = op("log", "loss", code="loss = -torch.log(1e-10 + 1 - torch.sigmoid(z)).mean()",
            inputs=(stats(n_zero=3, min=0.0, max=1.0, absmax=1.0),), out=NEG_INF)
    return Case("log_of_zero", *_at(120, ev))


def log_degenerate_samples() -> Case:
    """Valid-but-degenerate samples make the log fail: still the op's cause, with samples."""
    ev = op("log", "loss", code="nll = -torch.log(p[range(n), y])", inputs=(stats(n_zero=2, min=0.0, max=1.0),),
            out=NEG_INF)
    return Case("log_of_zero", *_at(40, ev, bad_samples=(137, 555)))


def log_data_zero() -> Case:
    """The log of a quantity of the data (no gradient flows through it): a zero length of stay."""
    ev = op("log", "forward", code="log_daily = log_charges - torch.log(los)",
            inputs=(stats(n_zero=1, min=0.0, max=13.0, requires_grad=False),), out=stats("output", n_neginf=1))
    return Case("log_of_zero", *_at(24, ev, bad_samples=(2888,)))


def log_negative() -> Case:
    ev = op("log", "loss", code="ll = torch.log(var_hat)", inputs=(stats(n_negative=4, min=-0.02, max=2.0),),
            out=NAN_OUT)
    return Case("invalid_domain", *_at(80, ev))


def sqrt_negative() -> Case:
    ev = op("sqrt", "forward", code="std = torch.sqrt((x**2).mean(1) - x.mean(1)**2)",
            inputs=(stats(n_negative=1, min=-1e-7, max=4.0),), out=NAN_OUT)
    return Case("invalid_domain", *_at(33, ev))


def acos_beyond_one() -> Case:
    ev = op("acos", "loss", code="angle = torch.acos((a * b).sum(-1))",
            inputs=(stats(min=-0.5, max=1.0000001, absmax=1.0000001),), out=NAN_OUT)
    return Case("invalid_domain", *_at(61, ev))


def pow_negative_base() -> Case:
    ev = op("pow", "forward", code="y = h ** 1.2", inputs=(stats(n_negative=30),), out=NAN_OUT)
    return Case("invalid_domain", *_at(15, ev))


def div_zero_norm() -> Case:
    ev = op("div", "forward", code="x = x / x.norm(dim=1, keepdim=True)",
            inputs=(stats(), stats("other", shape=(64, 1), numel=64, n_zero=1, min=0.0, max=5.0)), out=NAN_OUT)
    return Case("division_by_zero", *_at(70, ev, bad_samples=(12,)))


def softmax_fully_masked() -> Case:
    ev = op("_softmax", "forward", code="attn = scores.masked_fill(~mask, float('-inf')).softmax(-1)",
            inputs=(stats(n_neginf=64, min=None),), out=NAN_OUT, masked_inputs=1, module="body.1")
    return Case("division_by_zero", *_at(22, ev))


def adam_eps_zero() -> Case:
    ev = OpEvidence(op="addcdiv", phase="optimizer", param="head.bias", optimizer="Adam",
                    inputs=(stats(), stats(n_zero=4, min=0.0)), output=NAN_OUT, dtype="float32")
    recs = healthy(3) + [StepRecord(step=3, loss=2.2, grad_norm=1.0, lr=1e-3, batch_absmax=[3.0])]
    run = RunInfo(optimizers=({"name": "Adam", "lr": 1e-3, "eps": 0.0},), modules=MODULES)
    return Case("division_by_zero", tuple(recs), Finding(step=3, phase="optimizer", op=ev), run)


def all_ignored_targets() -> Case:
    ev = op("nll_loss", "loss", code="loss = F.cross_entropy(logits, y, ignore_index=-100)",
            inputs=(stats(), stats("target", dtype="int64", min=-100, max=-100)), out=stats("output", n_nan=1, numel=1))
    return Case("division_by_zero", *_at(9, ev))


def sqrt_grad_at_zero() -> Case:
    ev = op("sqrt", "backward", grad_op="SqrtBackward0", code="d = torch.sqrt(((a - b) ** 2).sum(-1))",
            inputs=(stats(n_zero=3, min=0.0, max=9.0),), out=NAN_OUT)
    return Case("singular_gradient", *_at(45, ev))


def sqrt_grad_node_inputs() -> Case:
    """As forensics records a backward node: (incoming grad, saved result), zeros in the result."""
    ev = op("sqrt", "backward", grad_op="SqrtBackward0", code="dist = torch.sqrt(((p - t) ** 2).sum(-1))",
            inputs=(stats("0", min=0.002, max=0.002, absmax=0.002), stats("1", n_zero=186, min=0.0, max=2.1)),
            out=POS_INF)
    return Case("singular_gradient", *_at(0, ev))


def acos_grad_at_one() -> Case:
    ev = op("acos", "backward", grad_op="AcosBackward0", code="theta = torch.acos(cos)",
            inputs=(stats(n_one=1, min=-0.2, max=1.0, absmax=1.0),), out=NAN_OUT)
    return Case("singular_gradient", *_at(12, ev))


def norm_grad_at_zero() -> Case:
    ev = op("linalg_vector_norm", "backward", grad_op="LinalgVectorNormBackward0", code="r = torch.norm(h - c, dim=-1)",
            inputs=(stats(n_zero=16, min=0.0),), out=NAN_OUT)
    return Case("singular_gradient", *_at(27, ev))


def div_grad_tiny_denominator() -> Case:
    ev = op("div", "backward", grad_op="DivBackward0", code="u = v / s",
            inputs=(stats(min=-1e-30, max=1e-30, absmax=1e-30), stats("other", min=1e-24, max=0.5)), out=POS_INF)
    return Case("singular_gradient", *_at(50, ev))


def exp_naive_softmax() -> Case:
    ev = op("exp", "forward", code="p = torch.exp(z) / torch.exp(z).sum(1, keepdim=True)",
            inputs=(stats(min=-20.0, max=121.0, absmax=121.0),), out=POS_INF)
    return Case("exp_overflow", *_at(300, ev))


def fp16_matmul() -> Case:
    ev = op("mm", "forward", dtype="float16", autocast=True, code="h = self.fc(x)", module="body.2",
            inputs=(stats(dtype="float16", max=300.0, absmax=300.0), stats("weight", dtype="float16", max=2.0)),
            out=POS_INF)
    recs, f = _at(500, ev)
    return Case("fp16_overflow", tuple(recs), f, RunInfo(optimizers=(ADAM,), modules=MODULES, autocast_dtype="float16"))


def fp16_after_far_divergence() -> Case:
    """heldout18's fp16 classifier at a warmup's too-high peak: the loss jumps to 170, then sits
    near 7e5 for 13 steps (GradScaler skipping the overflowing steps: no monotonic climb),
    then a float16 matmul overflows. The step size, not the dtype."""
    recs = []
    for i in range(57):
        lr = 0.02 * (i + 1)
        if i < 36:
            loss, g = 2.36 - 0.004 * i + _wiggle(i, 0.05), 0.7 + _wiggle(i, 0.2)
        elif i < 44:
            loss, g = 170.0 * (1 + _wiggle(i, 0.5)), 400.0
        else:
            loss, g = 7e5 * (1 + _wiggle(i, 0.3)), 7.9e4
        recs.append(StepRecord(step=i, loss=loss, grad_norm=g, param_norm=20.0 if i < 40 else 700.0, lr=lr,
                               batch_absmax=[3.0]))
    recs.append(failing(57, "forward", lr=1.14))
    ev = op("addmm", "forward", dtype="float16", autocast=True, code="out = self.mlp(feats)", module="mlp.0",
            inputs=(stats(dtype="float16", max=6.18, absmax=6.18),), out=NEG_INF)
    return Case("learning_rate_too_high", tuple(recs), Finding(step=57, phase="forward", op=ev, reproduced=True),
                RunInfo(optimizers=({"name": "SGD", "lr": 1.0},), modules=MODULES, autocast_dtype="float16"))


def fp16_cast_beyond() -> Case:
    ev = op("_to_copy", "forward", autocast=True, code="y = self.proj(h)",
            inputs=(stats(max=9.1e4, absmax=9.1e4, n_beyond=12),), out=POS_INF)
    recs, f = _at(800, ev)
    return Case("fp16_overflow", tuple(recs), f, RunInfo(optimizers=(ADAM,), modules=MODULES, autocast_dtype="float16"))


def exp_in_fp16_moderate() -> Case:
    """exp(20) is finite in float32 but not in float16: the dtype is the cause."""
    ev = op("exp", "loss", dtype="float16", code="w = torch.exp(scores)",
            inputs=(stats(dtype="float16", max=20.0, absmax=20.0),), out=POS_INF)
    recs, f = _at(90, ev)
    return Case("fp16_overflow", tuple(recs), f, RunInfo(optimizers=(ADAM,), modules=MODULES, param_dtypes=("float16",)))


# ---- data ------------------------------------------------------------------------------
def nan_in_batch() -> Case:
    recs = healthy(30) + [failing(30, "data", batch_absmax=[float("nan"), 9.0])]
    f = Finding(step=30, phase="data", bad_samples=(137, 555),
                data_stats=(stats("x", n_nan=3, numel=2048), stats("y", numel=64)))
    return Case("dirty_data", tuple(recs), f)


def label_out_of_range() -> Case:
    ev = op("nll_loss", "loss", code="loss = F.nll_loss(logp, y)", inputs=(stats(), stats("target", max=12.0)),
            out=NAN_OUT)
    return Case("dirty_data", *_at(18, ev, label_out_of_range=True, bad_samples=(4001,)))


def nan_in_batch_trace_only() -> Case:
    recs = healthy(30) + [failing(30, "data", batch_absmax=[float("nan"), 9.0])]
    return Case("dirty_data", tuple(recs), None)


def _diverge(start: int, steps: int, loss: float, factor: float, grad: float, gfactor: float, lr: float,
             scale: float, pnorm: float = 20.0, jump: float = 1.8, ratio: float = 0.3) -> list[StepRecord]:
    out = []
    for k in range(steps):
        i = start + k
        out.append(StepRecord(step=i, loss=loss * factor ** k, grad_norm=grad * gfactor ** k,
                              param_norm=pnorm * jump ** k, update_ratio=ratio if k else None, lr=lr,
                              module_grad_norms={m: grad * gfactor ** k / 2 for m in MODULES},
                              batch_absmax=[scale, scale / 2], output_absmax=4.0 * factor ** k))
    return out


def unscaled_pixels() -> Case:
    recs = _diverge(0, 4, loss=40.0, factor=30.0, grad=300.0, gfactor=20.0, lr=1e-2, scale=255.0)
    recs.append(failing(4, "forward", lr=1e-2, batch_absmax=[255.0, 127.0]))
    ev = op("addmm", "forward", code="h = self.fc1(x)", module="body.0",
            inputs=(stats(max=255.0, absmax=255.0), stats("weight", max=3e35, absmax=3e35)), out=POS_INF)
    return Case("unscaled_data", tuple(recs), Finding(step=4, phase="forward", op=ev, reproduced=True))


def unscaled_prices_trace_only() -> Case:
    recs = _diverge(0, 6, loss=1e10, factor=100.0, grad=1e6, gfactor=10.0, lr=1e-3, scale=2.4e5)
    recs.append(failing(6, "loss", lr=1e-3, batch_absmax=[12.0, 2.4e5]))
    return Case("unscaled_data", tuple(recs), None)


# ---- training dynamics -------------------------------------------------------------------
def lr_too_high() -> Case:
    recs = healthy(10, lr=0.5) + _diverge(10, 5, loss=1.9, factor=6.0, grad=1.5, gfactor=5.0, lr=0.5, scale=3.0)
    recs.append(failing(15, "forward", lr=0.5))
    ev = op("addmm", "forward", code="h = self.fc2(h)", module="body.1",
            inputs=(stats(max=4e20, absmax=4e20), stats("weight", max=6e18, absmax=6e18)), out=POS_INF)
    return Case("learning_rate_too_high", tuple(recs), Finding(step=15, phase="forward", op=ev, reproduced=True),
                RunInfo(optimizers=({"name": "SGD", "lr": 0.5},), modules=MODULES))


def lr_warmup_peak() -> Case:
    """Loss falls while the warmup lr is small, rises once it passes ~3e-3."""
    recs = []
    for i in range(40):
        lr = 1e-4 * (i + 1)
        if i < 30:
            loss = 2.3 * math.exp(-i / 25) * (1 + _wiggle(i, 0.03))
            g = 1.0 + _wiggle(i, 0.2)
            p = 20.0
        else:
            loss = 1.4 * 3.0 ** (i - 29)
            g = 2.0 * 4.0 ** (i - 29)
            p = 20.0 * 1.6 ** (i - 29)
        recs.append(StepRecord(step=i, loss=loss, grad_norm=g, param_norm=p, lr=lr, batch_absmax=[3.0],
                               update_ratio=(0.2 if i >= 30 else 1e-3) if i % 10 == 0 or i >= 30 else None))
    recs.append(failing(40, "loss", lr=4.1e-3))
    return Case("learning_rate_too_high", tuple(recs), None,
                RunInfo(optimizers=({"name": "AdamW", "lr": 4e-3, "eps": 1e-8},), modules=MODULES))


def lr_optimizer_overflow() -> Case:
    recs = healthy(5, lr=1e30) + [StepRecord(step=5, loss=2.0, grad_norm=1.2, lr=1e30, batch_absmax=[3.0])]
    ev = OpEvidence(op="add", phase="optimizer", param="body.0.weight", optimizer="SGD",
                    inputs=(stats(), stats()), output=POS_INF, dtype="float32")
    return Case("learning_rate_too_high", tuple(recs), Finding(step=5, phase="optimizer", op=ev),
                RunInfo(optimizers=({"name": "SGD", "lr": 1e30},), modules=MODULES))


def exploding_rnn() -> Case:
    recs = []
    for i in range(60):
        g = 2.0 * (1 + _wiggle(i, 0.2)) if i < 30 else 2.0 * 1.6 ** (i - 29)
        recs.append(StepRecord(step=i, loss=1.2 + _wiggle(i, 0.05), grad_norm=g, param_norm=15.0 + 0.002 * i,
                               lr=1e-3, update_ratio=8e-4 if i % 10 == 0 else None, batch_absmax=[1.0],
                               module_grad_norms={"rnn": g * 0.99, "head": g * 0.1}, output_absmax=0.99))
    recs.append(failing(60, "backward"))
    ev = op("mm", "backward", grad_op="MmBackward0", code="h = torch.tanh(x @ W_x + h @ W_h)", module="rnn",
            inputs=(stats(max=1e37, absmax=1e37), stats("weight", max=3.0)), out=POS_INF)
    return Case("exploding_gradients", tuple(recs), Finding(step=60, phase="backward", op=ev, reproduced=True),
                RunInfo(optimizers=(ADAM,), modules=("rnn", "head")))


def exploding_trace_only() -> Case:
    c = exploding_rnn()
    return replace(c, finding=None)


def exploding_cliff() -> Case:
    """heldout17's thermal rollout: calm norms ~1.6, one step at 2.6e3 (loss 0.63 -> 19), then
    the unstable transition overflows in the forward."""
    recs = [StepRecord(step=i, loss=1.6 * 0.96 ** i, grad_norm=1.6 * (1 + _wiggle(i, 0.2)), param_norm=8.0,
                       lr=3e-3, batch_absmax=[2.0]) for i in range(26)]
    recs.append(StepRecord(step=26, loss=19.4, grad_norm=2.63e3, param_norm=8.1, lr=3e-3, batch_absmax=[2.0]))
    recs.append(failing(27, "forward"))
    ev = op("mm", "forward", code="h = self.A(h) + self.B(inputs[:, t])", module="A",
            inputs=(stats(max=3e37, absmax=3e37), stats("weight", max=2.0)), out=POS_INF)
    return Case("exploding_gradients", tuple(recs), Finding(step=27, phase="forward", op=ev, reproduced=True),
                RunInfo(optimizers=(ADAM,), modules=("A", "B")))


def bad_init_deep() -> Case:
    mods = tuple(f"layers.{k}" for k in range(8))
    r0 = StepRecord(step=0, loss=3.1e6, grad_norm=4.2e7, param_norm=900.0, lr=1e-3, batch_absmax=[2.5],
                    output_absmax=8.8e4, module_grad_norms={m: 10 ** (7.5 - 0.6 * k) for k, m in enumerate(mods)})
    r1 = failing(1, "forward")
    ev = op("addmm", "forward", code="x = F.relu(layer(x))", module="layers.6",
            inputs=(stats(max=4e36, absmax=4e36), stats("weight", max=40.0)), out=POS_INF)
    return Case("bad_initialization", (r0, r1), Finding(step=1, phase="forward", op=ev, reproduced=True),
                RunInfo(optimizers=({"name": "SGD", "lr": 1e-3},), modules=mods))


def bad_init_step0_forward() -> Case:
    mods = tuple(f"layers.{k}" for k in range(12))
    ev = op("addmm", "forward", code="x = torch.relu(self.layers[i](x))", module="layers.11",
            inputs=(stats(max=2e37, absmax=2e37), stats("weight", max=45.0)), out=POS_INF)
    rec = failing(0, "forward", batch_absmax=[1.0, 1.0])
    return Case("bad_initialization", (rec,), Finding(step=0, phase="forward", op=ev, reproduced=True),
                RunInfo(optimizers=(ADAM,), modules=mods))


# ---- nothing fits ---------------------------------------------------------------------------
def unknown_not_reproduced() -> Case:
    ev = op("mul", "forward", code="h = a * b", inputs=(stats(), stats()), out=NAN_OUT)
    recs, f = _at(400, ev)
    return Case("unknown", tuple(recs), replace(f, reproduced=False))


def unknown_trace_only() -> Case:
    return Case("unknown", tuple(healthy(80) + [failing(80, "backward")]), None)


CASES = {f.__name__: f for f in (log_data_zero, 
    log_softmax_zero, log_lost_epsilon, log_degenerate_samples, log_negative, sqrt_negative, acos_beyond_one,
    pow_negative_base, div_zero_norm, softmax_fully_masked, adam_eps_zero, all_ignored_targets, sqrt_grad_at_zero,
    sqrt_grad_node_inputs, acos_grad_at_one, norm_grad_at_zero, div_grad_tiny_denominator, exp_naive_softmax, fp16_matmul,
    fp16_cast_beyond, fp16_after_far_divergence, exp_in_fp16_moderate, nan_in_batch, label_out_of_range, nan_in_batch_trace_only,
    unscaled_pixels, unscaled_prices_trace_only, lr_too_high, lr_warmup_peak, lr_optimizer_overflow,
    exploding_rnn, exploding_trace_only, exploding_cliff, bad_init_deep, bad_init_step0_forward, unknown_not_reproduced,
    unknown_trace_only,
)}


def healthy_traces() -> dict[str, tuple[StepRecord, ...]]:
    """Runs with no non-finite value, including ones that look alarming."""
    growing = [replace(r, grad_norm=1.2 ** r.step, loss=2.0 + 0.01 * r.step) for r in healthy(60)]
    spiky = [replace(r, loss=r.loss * (8 if r.step % 17 == 0 else 1)) for r in healthy(100)]
    return {
        "calm": tuple(healthy(200)),
        "unscaled_but_fine": tuple(healthy(50, scale=255.0)),
        "big_steady_grads": tuple(healthy(50, grad=5e4, loss0=3e5)),
        "grad_growing_no_nan": tuple(growing),
        "loss_spikes": tuple(spiky),
        "empty": (),
    }


# ---- hard pairs ---------------------------------------------------------------------------
def log_zero_after_divergence() -> Case:
    """Seed 000: a too-large step saturates the softmax; the log of 0 is still the op's bug."""
    c = lr_too_high()
    ev = op("log", "loss", code="loss = -(y * torch.log(F.softmax(z, dim=1))).sum()",
            inputs=(stats(n_zero=300, min=0.0, max=1.0),), out=NEG_INF)
    return Case("log_of_zero", c.records[:-1] + (failing(15, "loss", lr=0.5),),
                Finding(step=15, phase="loss", op=ev, reproduced=True), c.run)


def exp_after_divergence() -> Case:
    """exp overflowed only because the loss had been exploding for steps: the step size."""
    c = lr_too_high()
    ev = op("exp", "loss", code="rate = torch.exp(log_rate)", inputs=(stats(max=140.0, absmax=140.0),), out=POS_INF)
    return Case("learning_rate_too_high", c.records, Finding(step=15, phase="loss", op=ev, reproduced=True), c.run)


def pow_after_divergence() -> Case:
    """A square overflowed because a rollout's state (negative, -4e27) had grown for steps: the
    step size, not a power that overflows on its own (the magnitude, not the signed max, counts)."""
    c = lr_too_high()
    ev = op("pow", "loss", code="cost = cost + 0.01 * om ** 2", module=None,
            inputs=(stats(min=-3.9e27, max=-2.7e24, absmax=3.9e27, n_negative=640),), out=POS_INF)
    return Case("learning_rate_too_high", c.records, Finding(step=15, phase="loss", op=ev, reproduced=True), c.run)


def sqrt_where_leak() -> Case:
    """NaN gradient through the unselected branch of where(x > 0, sqrt(x), 0)."""
    ev = op("sqrt", "backward", grad_op="SqrtBackward0", code="y = torch.where(x > 0, torch.sqrt(x), 0.0)",
            inputs=(stats(n_negative=100, n_zero=0, min=-2.0, max=3.0),), out=NAN_OUT)
    return Case("invalid_domain", *_at(7, ev))


def rnn_grads_huge_from_start() -> Case:
    """Bounded forward (tanh) but gradients 1e5 from step 0: explosion through time, not init."""
    recs = [StepRecord(step=i, loss=0.9 + 0.01 * i, grad_norm=2e5 * 3 ** i, param_norm=15.0, lr=1e-3,
                       batch_absmax=[1.0], output_absmax=0.98, module_grad_norms={"rnn": 2e5 * 3 ** i, "head": 3.0})
            for i in range(3)]
    recs.append(failing(3, "backward"))
    ev = op("mm", "backward", grad_op="MmBackward0", code="h = torch.tanh(x @ W_x + h @ W_h)", module="rnn",
            inputs=(stats(max=1e36, absmax=1e36), stats("weight", max=3.0)), out=POS_INF)
    return Case("exploding_gradients", tuple(recs), Finding(step=3, phase="backward", op=ev, reproduced=True),
                RunInfo(optimizers=(ADAM,), modules=("rnn", "head")))


def lr_same_trace_unit_data() -> Case:
    """The unscaled_pixels trace with unit-scale data: now the step size is to blame."""
    c = unscaled_pixels()
    recs = tuple(replace(r, batch_absmax=[1.0, 0.5]) for r in c.records[:-1]) + (
        replace(c.records[-1], batch_absmax=[1.0, 0.5]),)
    recs = tuple(healthy(3, lr=1e-2)) + tuple(replace(r, step=r.step + 3) for r in recs)
    f = replace(c.finding, step=7)
    return Case("learning_rate_too_high", recs, f)


CASES.update({f.__name__: f for f in (log_zero_after_divergence, exp_after_divergence, pow_after_divergence,
                                      sqrt_where_leak,
                                      rnn_grads_huge_from_start, lr_same_trace_unit_data)})
