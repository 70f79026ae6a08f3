"""Exact replay of the failing step under the tracer: forward, loss, backward.

Called from the optimizer pre-hook, so the parameters are still the ones the step
used. The training loop's ops on the batch before the model (recorded by `watch.window`)
are re-executed first, random draws as drawn; each root forward is re-run with its saved
arguments, RNG state (same dropout masks), grad mode and autocast state; the loss ops
recorded by `watch.window` are re-executed on the replayed tensors; backward goes through `torch.autograd.grad`
into fresh tensors. Nothing the user sees changes: module buffers (BatchNorm
running stats), RNG state and `.grad` are as before, and the engine's own hooks,
which fire during the replay, write into a scratch snapshot.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch
from torch.utils._pytree import tree_flatten, tree_unflatten

from nansentry.forensics.standins import stand_ins, substitute
from nansentry.forensics.tracer import ModuleStack, Site, Tracer
from nansentry.watch.probes import Probes
from nansentry.watch.snapshot import RootCall, StepSnapshot
from nansentry.watch.window import LossOp, Out, Ref, Segment, flat_tensors


class Unreplayable(Exception):
    """The step cannot be re-run (loss not recorded, a recorded tensor is gone)."""


@dataclass
class Subset:
    """Replay only these batch positions: tensors whose dim 0 is `size` are sliced."""

    positions: list[int]
    size: int
    index: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.index = torch.tensor(self.positions, dtype=torch.long)

    def take(self, t: torch.Tensor) -> torch.Tensor:
        if t.dim() == 0 or t.shape[0] != self.size:
            return t
        return t.index_select(0, self.index.to(t.device))

    def tree(self, obj: Any) -> Any:
        leaves, spec = tree_flatten(obj)
        return tree_unflatten([self.take(x) if isinstance(x, torch.Tensor) else x for x in leaves], spec)

    def sizes(self, op: LossOp, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """Rescale batch-sized integers in recorded shape arguments (view, arange...): a bare
        int equal to the batch size, the first entry of a size list (x B, or a multiple of B
        for a view that flattens the batch with other dims)."""
        n, b = len(self.positions), self.size
        view = "view" in op.func._schema.name or "reshape" in op.func._schema.name

        def fix(a: Any) -> Any:
            if isinstance(a, bool):
                return a
            if isinstance(a, int):
                return n if a == b else a
            if isinstance(a, (list, tuple)) and a and all(isinstance(x, int) and not isinstance(x, bool) for x in a):
                first = a[0]
                if first == b:
                    return type(a)([n, *a[1:]])
                if view and first > b and first % b == 0:
                    return type(a)([first // b * n, *a[1:]])
            return a

        return tuple(fix(a) for a in args), {k: fix(v) for k, v in kwargs.items()}


@contextlib.contextmanager
def quarantine(engine: Any, modules: list[torch.nn.Module]) -> Iterator[None]:
    """Run with the user's state protected: RNG, buffers, grad mode, engine records."""
    cpu = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    snap, probes, depth = engine.snapshot, engine.probes, engine.depth
    engine.snapshot, engine.probes = StepSnapshot(snap.step), Probes()
    grad = torch.is_grad_enabled()
    try:
        with stand_ins(modules, parameters=False):  # running statistics update copies
            yield
    finally:
        engine.snapshot, engine.probes, engine.depth = snap, probes, depth
        torch.set_grad_enabled(grad)
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


def _autocast(call: RootCall) -> contextlib.AbstractContextManager:
    if not call.autocast:
        return contextlib.nullcontext()
    return torch.autocast(device_type=call.autocast["device"], dtype=getattr(torch, call.autocast["dtype"]))


def _params(snap: StepSnapshot) -> list[torch.Tensor]:
    seen: dict[int, torch.Tensor] = {}
    for call in snap.root_calls:
        for p in call.module.parameters():
            seen.setdefault(id(p), p)
    for opt in snap.optimizers:
        for g in opt.param_groups:
            for p in g["params"]:
                seen.setdefault(id(p), p)
    return [p for p in seen.values() if p.requires_grad]


@dataclass
class Replay:
    """What a replay ran; the tracer holds what it found."""

    tracer: Tracer
    phases: list[str] = field(default_factory=list)
    complete: bool = False  # forward, loss and backward all re-ran
    before_model: bool = False  # the producer is one of the loop's ops on the batch, before the model
    note: str | None = None
    losses: list[torch.Tensor] = field(default_factory=list)  # the replayed tensors backward was called on


def replay_step(engine: Any, snap: StepSnapshot, tracer: Tracer, subset: Subset | None = None,
                backward: bool = True, before_phase: str = "loss") -> Replay:
    """Re-run the step's root forwards, loss ops and backward under `tracer`; stop at a producer.

    The loop's ops before the model are traced as `before_phase`: the phase the step check
    first saw the value in (the forward when they made the model's input, else the loss)."""
    rep = Replay(tracer)
    modules = [c.module for c in snap.root_calls]
    segments: list[Segment] = list(snap.loss_ops or [])
    stack = tracer.modules or ModuleStack()
    for m in modules:
        stack.add_root(m)
    tracer.modules = stack
    outputs: dict[int, list[torch.Tensor]] = {}
    results: dict[int, list[torch.Tensor]] = {}
    with quarantine(engine, modules), stack:
        for ci, call in enumerate([None, *snap.root_calls], start=-1):
            tracer.call_index = max(ci, 0)  # its loss ops and backward below count as this call's too
            if call is not None:
                _replay_call(call, ci, subset, segments, tracer, outputs, results)
                rep.phases.append("forward")
                if tracer.first is not None:
                    return rep
            for seg in (s for s in segments if s.call == ci):
                if seg.before_model:
                    tracer.phase, tracer.call_index = before_phase, ci + 1  # the next call's batch
                    _replay_segment(seg, tracer, outputs, results, subset)
                    if tracer.first is not None:
                        rep.before_model = True
                        return rep
                    continue
                if seg.truncated:
                    rep.note = "the loss code ran more than the recorded ops: loss and backward not replayed"
                    return rep
                losses = _replay_segment(seg, tracer, outputs, results, subset)
                rep.losses += losses
                rep.phases.append("loss")
                if tracer.first is not None:
                    return rep
                if seg.backward is not None and backward:
                    _replay_backward(snap, tracer, losses)
                    rep.phases.append("backward")
                    if tracer.first is not None:
                        return rep
        if not segments and snap.losses:
            rep.note = "the loss ops were not recorded: loss and backward not replayed"
            return rep
    rep.complete = True
    return rep


def _replay_call(call: RootCall, ci: int, subset: Subset | None, segments: list[Segment], tracer: Tracer,
                 outputs: dict[int, list[torch.Tensor]], results: dict[int, list[torch.Tensor]]) -> None:
    """Re-run one root forward with its saved arguments, RNG and autocast state; arguments an
    earlier call or loss op made (a loss module on the model's output) are their replayed values."""
    torch.set_rng_state(call.cpu_rng)
    if call.cuda_rng is not None:
        torch.cuda.set_rng_state_all(call.cuda_rng)
    if call.arg_refs is not None:
        spec = tree_flatten((call.args, call.kwargs))[1]
        args, kwargs = tree_unflatten([_resolve(a, outputs, results, subset) for a in call.arg_refs], spec)
    elif subset is not None:
        args, kwargs = _cut(subset.tree(call.args)), _cut(subset.tree(call.kwargs))
    else:
        args, kwargs = _cut(call.args), _cut(call.kwargs)
    tracer.phase, tracer.site = "forward", None
    tracer.call_site = next((s.call_site for s in segments if s.call == ci), None)
    tracer.autocast = bool(call.autocast)
    with torch.set_grad_enabled(call.grad_enabled), _autocast(call), tracer:
        out = call.module(*args, **kwargs)
        tracer.flush()
    outputs[ci] = flat_tensors(out)


def _replay_segment(seg: Segment, tracer: Tracer, outputs: dict[int, list[torch.Tensor]],
                    results: dict[int, list[torch.Tensor]], subset: Subset | None) -> list[torch.Tensor]:
    """Re-execute one window's recorded ops, substituting replayed tensors."""

    def resolve(a: Any) -> Any:
        return _resolve(a, outputs, results, subset)

    if not seg.before_model:
        tracer.phase = "loss"
    for k, op in enumerate(seg.ops, start=seg.start):
        if op.drawn is not None:  # a random draw: as the step drew it
            results[k] = [subset.take(t) if subset is not None else t for t in op.drawn]
            continue
        args, kwargs = tree_unflatten([resolve(a) for a in op.flat], op.spec)
        if subset is not None:
            args, kwargs = subset.sizes(op, args, kwargs)
        external = _writes_external(op)
        if external is not None or op.func._schema.name.endswith("_local_scalar_dense"):
            results[k] = [resolve(external)] if external is not None else []
            continue  # never mutate the user's tensors; never sync for .item()
        tracer.site = Site(None, *op.site) if op.site else Site()
        with tracer:
            out = op.func(*args, **kwargs)
            tracer.flush()
        results[k] = [o for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor)]
        if tracer.first is not None:
            break
    tracer.site = None
    if seg.backward is None or tracer.first is not None:
        return []
    return [t for t in (resolve(b) for b in seg.backward) if isinstance(t, torch.Tensor)]


def _resolve(a: Any, outputs: dict[int, list[torch.Tensor]], results: dict[int, list[torch.Tensor]],
             subset: Subset | None) -> Any:
    """A recorded argument's value in the replay: replayed tensors for Ref/Out, sliced inputs."""
    if isinstance(a, Ref):
        if a.op not in results or a.index >= len(results[a.op]):
            raise Unreplayable(f"recorded op {a.op} has no replayed output {a.index}")
        return results[a.op][a.index]
    if isinstance(a, Out):
        if a.call not in outputs or a.index >= len(outputs[a.call]):
            raise Unreplayable(f"root call {a.call} has no replayed output {a.index}")
        return outputs[a.call][a.index]
    if isinstance(a, torch.Tensor) and subset is not None and not isinstance(a, torch.nn.Parameter):
        return _cut(subset.take(a))
    return _cut(a)


def _cut(tree: Any) -> Any:
    """Tensors the replay did not make: their stand-ins where forensics put one in place, and
    cut from the user's autograd graph.

    A model input computed in an earlier step (a GAN's `fake`, made before the generator's
    own step and fed to the critic again after it) carries a graph the user's `backward()`
    has already freed: the replayed backward must stop at it, not run into it."""
    if isinstance(tree, torch.Tensor):
        tree = substitute(tree)
        return tree.detach() if tree.grad_fn is not None else tree
    if isinstance(tree, (list, tuple, dict)):
        flat, spec = tree_flatten(tree)
        if any(isinstance(t, torch.Tensor) for t in flat):
            return tree_unflatten([_cut(t) for t in flat], spec)
    return tree


def _writes_external(op: LossOp) -> Any:
    """The tensor an in-place/out= op writes when it is not one the window produced."""
    args, kwargs = tree_unflatten(op.flat, op.spec)
    for i, a in enumerate(op.func._schema.arguments):
        if a.alias_info is not None and a.alias_info.is_write:
            v = args[i] if i < len(args) else kwargs.get(a.name)
            if isinstance(v, torch.Tensor):
                return v
    return None


def _replay_backward(snap: StepSnapshot, tracer: Tracer, losses: list[torch.Tensor]) -> None:
    losses = [t for t in losses if t.requires_grad]
    params = _params(snap)
    if not losses or not params:
        return
    tracer.phase, tracer.site = "backward", None
    with tracer:
        # fresh gradient tensors: the user's .grad is never touched
        torch.autograd.grad(losses, params, [torch.ones_like(t) for t in losses], allow_unused=True)
