"""The optimizer phase: which parameter's update went non-finite, and at which op.

The check trips after the update (parameters already changed), and nothing extra
is kept on healthy steps, so an exact replay is not possible. Instead the update of
each affected parameter is re-run once on clones (parameter with its non-finite
entries zeroed, its gradient, its optimizer state after the step) with a fresh
optimizer of the same class and hyper-parameters, single-tensor implementation, under
the tracer. The report says so in `notes`. Causes that live in the optimizer's
arithmetic (eps=0 with a zero second moment, a zero denominator) re-appear on the
post-step state; an overshoot that depended on the exact pre-step state may not,
and then `reproduced` is False.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import torch

from nansentry.forensics.stats import tensor_stats
from nansentry.forensics.tracer import Site, Tracer
from nansentry.records import Finding, OpEvidence
from nansentry.watch.window import user_site

MAX_PARAMS = 4  # affected parameters re-run (the first one producing is reported)


def _params_of(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for g in opt.param_groups for p in g["params"]]


def _group_of(opt: torch.optim.Optimizer, p: torch.Tensor) -> dict[str, Any]:
    for g in opt.param_groups:
        if any(q is p for q in g["params"]):
            return g
    return opt.param_groups[0]


def _clone(x: Any) -> Any:
    return x.detach().clone() if isinstance(x, torch.Tensor) else x


def _evidence_notes(name: str, p: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> list[str]:
    notes = []
    if p.grad is not None:
        g = tensor_stats(p.grad, "grad")
        notes.append(f"{name}: gradient {g.n_zero} of {g.numel} exact zeros, |g| max {g.absmax}")
    for k, v in state.items():
        if isinstance(v, torch.Tensor) and v.dim() > 0:
            s = tensor_stats(v, k)
            notes.append(f"{name}: optimizer state {k} has {s.n_zero} of {s.numel} exact zeros, min {s.min}")
    hyper = {k: group[k] for k in ("lr", "eps", "weight_decay", "momentum") if k in group}
    notes.append(f"{name}: hyper-parameters {hyper}")
    return notes


def needs_closure(opt: torch.optim.Optimizer) -> bool:
    """Does `opt.step()` require a closure (LBFGS)?"""
    try:
        param = inspect.signature(type(opt).step).parameters.get("closure")
    except (TypeError, ValueError):
        return False
    return param is not None and param.default is inspect.Parameter.empty


def rerun_update(engine: Any, opt: torch.optim.Optimizer, i: int) -> OpEvidence | None:
    """Re-run parameter i's update on clones under the tracer; the producing op or None."""
    p = _params_of(opt)[i]
    group = _group_of(opt, p)
    hyper = {k: v for k, v in group.items() if k != "params"}
    for k, v in (("foreach", False), ("fused", None), ("capturable", False)):
        if k in hyper:
            hyper[k] = v  # single-tensor code path: one aten op per arithmetic step
    clone = torch.nan_to_num(p.detach().clone(), nan=0.0, posinf=0.0, neginf=0.0).requires_grad_(p.requires_grad)
    if p.grad is not None:
        clone.grad = p.grad.detach().clone()
    opt2 = type(opt)([{"params": [clone], **hyper}])
    opt2.state[clone] = {k: _clone(v) for k, v in opt.state.get(p, {}).items()}
    tracer = Tracer()
    tracer.phase = "optimizer"
    tracer.site = Site()
    stopped, engine.stopped = engine.stopped, True  # the engine's optimizer hooks stay quiet
    try:
        with tracer:
            opt2.step()
    finally:
        engine.stopped = stopped
    return tracer.first


def investigate_update(engine: Any, step: int, opt: torch.optim.Optimizer, bad: list[int]) -> Finding:
    params = _params_of(opt)
    names = [engine.names.name(opt, i, params[i]) for i in bad]
    where = user_site(1)
    notes: list[str] = [f"non-finite after the update: {', '.join(names[:8])}"
                        + (f" and {len(names) - 8} more" if len(names) > 8 else "")]
    found: OpEvidence | None = None
    if needs_closure(opt):
        notes.append(f"{type(opt).__name__}.step evaluates the loss itself (a closure, its line search): the "
                     "update cannot be re-run without the user's closure; op not identified")
        return Finding(step=step, phase="optimizer", reproduced=None, notes=tuple(notes))
    for i, name in zip(bad[:MAX_PARAMS], names):
        p = params[i]
        notes += _evidence_notes(name, p, opt.state.get(p, {}), _group_of(opt, p))
        ev = rerun_update(engine, opt, i)
        if ev is not None and found is None:
            found = OpEvidence(
                op=ev.op, phase="optimizer", module=None,
                file=where[0] if where else None, line=where[1] if where else None,
                code=Site(None, *where).code if where else None,
                tensor="parameter", inputs=ev.inputs, output=ev.output, dtype=ev.dtype,
                param=name, optimizer=type(opt).__name__)
            break
    notes.append("the update was re-run once on clones of the post-step state "
                 "(no pre-step copy is kept on healthy steps)")
    if found is None:
        notes.append("the re-run of the update did not produce a non-finite value: op not identified")
    lr = _group_of(opt, params[bad[0]]).get("lr") if bad else None
    if isinstance(lr, float) and not math.isfinite(lr):
        notes.append(f"the learning rate itself is {lr}")
    return Finding(step=step, phase="optimizer", op=found, reproduced=found is not None, notes=tuple(notes))
