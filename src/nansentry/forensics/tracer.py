"""The op-level tracer of a replay: the first op that *produced* a non-finite value.

A `TorchDispatchMode` sees every aten op of the replayed step (forward, loss,
backward, optimizer). An op is the producer when its output holds a kind of
non-finite value (nan, +inf, -inf) that none of its inputs held, and it was not
asked for one with a non-finite scalar (`masked_fill(m, -inf)`, `full(-inf)`: an
intentional mask). So a softmax over a row that a mask made all `-inf` produces
NaN from inputs holding only `-inf`: it is the producer; the masked_fill is not.

Cost (failing step only): one `isfinite().all()` per float output of each op (a
sync per op on a GPU); input statistics only for the producer.
"""

from __future__ import annotations

import linecache
import math
import re
import weakref
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from nansentry.forensics.stats import tensor_stats
from nansentry.records import OpEvidence, TensorStats
from nansentry.watch.window import user_site

_TAG = "nansentry"  # key of our forward info in autograd nodes' metadata dicts
_SKIP = ("empty", "new_empty", "resize", "set_", "_local_scalar_dense", "detach", "alias")


def op_name(func: Any) -> str:
    """aten name without namespace, overload, `_foreach_` or trailing underscore."""
    name = func._schema.name.split("::")[-1]
    if name.startswith("_foreach_"):
        name = name[len("_foreach_"):]
    return name.rstrip("_") if name != "_" else name


def forward_name(node_name: str) -> str:
    """The forward op an autograd node differentiates, from its name (SqrtBackward0 -> sqrt)."""
    return re.sub(r"Backward\d*$", "", node_name).lower()


@dataclass(frozen=True)
class Site:
    """Where an op came from: module path and user source line."""

    module: str | None = None
    file: str | None = None
    line: int | None = None
    op: str | None = None  # the forward op (for backward nodes)

    @property
    def code(self) -> str | None:
        if self.file is None or self.line is None:
            return None
        return linecache.getline(self.file, self.line).strip() or None


def _kinds(t: torch.Tensor) -> set[str]:
    if t.is_complex():
        t = torch.view_as_real(t)
    out = set()
    if bool(torch.isnan(t).any()):
        out.add("nan")
    if bool((t == math.inf).any()):
        out.add("+inf")
    if bool((t == -math.inf).any()):
        out.add("-inf")
    return out


def _floats(xs: list[Any]) -> list[torch.Tensor]:
    return [x for x in xs if isinstance(x, torch.Tensor) and (x.is_floating_point() or x.is_complex())
            and x.numel() > 0 and x.device.type != "meta"]


def _all_finite(ts: list[torch.Tensor]) -> bool:
    """Exact, but via a sum first: one reduction pass, no bool tensor the size of t.

    NaN and inf propagate through a sum, so a finite sum proves every element finite;
    a non-finite sum (or a finite-valued overflow) falls back to the exact check.
    sync: one per tensor on a GPU (replay only).
    """
    for t in ts:
        acc = torch.float32 if t.dtype in (torch.float16, torch.bfloat16) else None
        total = t.sum(dtype=acc) if not t.is_complex() else torch.view_as_real(t).sum()
        if bool(torch.isfinite(total)):
            continue
        if not bool(torch.isfinite(t).all()):
            return False
    return True


class ModuleStack:
    """The innermost module running, as a dotted path relative to the root modules."""

    def __init__(self) -> None:
        self.stack: list[torch.nn.Module] = []
        self.names: dict[int, str] = {}
        self._undo: list[Callable[[], None]] = []

    def add_root(self, root: torch.nn.Module) -> None:
        for name, m in root.named_modules(remove_duplicate=False):
            self.names.setdefault(id(m), name)

    def current(self) -> str | None:
        for m in reversed(self.stack):
            name = self.names.get(id(m))
            if name is not None:
                return name
        return None

    def __enter__(self) -> "ModuleStack":
        from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

        def pre(m: torch.nn.Module, a: Any) -> None:
            self.stack.append(m)

        def post(m: torch.nn.Module, a: Any, o: Any) -> None:
            if self.stack and self.stack[-1] is m:
                self.stack.pop()

        self._undo = [register_module_forward_pre_hook(pre).remove,
                      register_module_forward_hook(post, always_call=True).remove]
        return self

    def __exit__(self, *exc: Any) -> None:
        for undo in self._undo:
            undo()
        self._undo, self.stack = [], []


class Tracer(TorchDispatchMode):
    """Find the first producer; tag autograd nodes with the forward op and line."""

    def __init__(self, modules: ModuleStack | None = None, limit: torch.dtype | None = None) -> None:
        super().__init__()
        self.modules = modules
        self.phase = "forward"
        self.site: Site | None = None  # set by the loss replay: the recorded user line
        self.call_site: tuple[str, int] | None = None  # where the root module was called
        self.first: OpEvidence | None = None
        self.first_func: Any = None
        self.call_index: int | None = None  # the root call being replayed (set by the replay)
        self.first_call: int | None = None  # the root call during which `first` was produced
        self.limit = limit  # dtype whose range `n_beyond` counts against (fp16 under autocast)
        self.autocast = False
        self.n_ops = 0
        self._pending: tuple[list[weakref.ref], Site] | None = None

    # -- autograd node tags: a backward producer is reported at its forward line --------
    def flush(self) -> None:
        """Tag the nodes of the last op's outputs (autograd sets grad_fn after dispatch)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        refs, site = pending
        for r in refs:
            t = r()
            fn = getattr(t, "grad_fn", None) if t is not None else None
            if fn is not None:
                meta = fn.metadata
                if _TAG not in meta:
                    meta[_TAG] = site

    def _here(self, name: str) -> Site:
        if self.site is not None:
            return Site(None, self.site.file, self.site.line, name)
        where = user_site(3, stop_at_nansentry=True) or self.call_site
        module = self.modules.current() if self.modules is not None and self.phase == "forward" else None
        return Site(module, where[0] if where else None, where[1] if where else None, name)

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        self.flush()
        if self.first is not None:
            return func(*args, **kwargs)
        self.n_ops += 1
        name = op_name(func)
        if name.startswith(_SKIP):
            return func(*args, **kwargs)  # uninitialised memory may hold anything
        written = _written(func, args, kwargs)
        before = set().union(*(_kinds(t) for t in _floats(written))) if written and not _all_finite(_floats(written)) else set()
        out = func(*args, **kwargs)
        node = torch._C._current_autograd_node()
        outs = [o for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor)]
        here = self._here(name) if node is None and self.phase in ("forward", "loss") else None
        if here is not None:
            self._pending = ([weakref.ref(o) for o in outs + written], here)
        produced = _floats(outs + written)
        if not produced or _all_finite(produced):
            return out
        flat = tree_flatten((args, kwargs))[0]
        if any(isinstance(a, float) and not math.isfinite(a) for a in flat):
            return out  # intentional: masked_fill(m, -inf), full(..., -inf)
        wids = {id(t) for t in written}
        inputs = _floats([a for a in flat if not (isinstance(a, torch.Tensor) and id(a) in wids)])
        k_in = set().union(*(_kinds(t) for t in inputs)) | before if inputs else set(before)
        k_out = set().union(*(_kinds(t) for t in produced))
        if not (k_out - k_in):
            return out  # a propagator: every kind it holds came in through an input
        self._record(func, name, node, here, inputs, produced, written, before, flat)
        return out

    def _record(self, func: Any, name: str, node: Any, here: Site | None, inputs: list[torch.Tensor],
                produced: list[torch.Tensor], written: list[torch.Tensor], before: set[str],
                flat: list[Any]) -> None:
        grad_op, tensor, phase = None, "output", self.phase
        if node is not None:
            phase, grad_op = "backward", node.name()
            site = node.metadata.get(_TAG) or Site(op=forward_name(grad_op))
            tensor = "grad"
        elif here is not None:
            site = here
        else:
            site = self.site or Site(op=name)
        if written and not before:
            tensor = "updated input" if phase == "optimizer" else tensor
        pairs = _pick_element(func, flat, produced)
        if pairs is not None:  # foreach op: report the list element that went bad
            inputs, produced = pairs
        limit = self.limit
        self.first_func = func
        self.first_call = self.call_index
        self.first = OpEvidence(
            op=site.op or name if node is not None else name,
            phase=phase,
            module=site.module,
            file=site.file,
            line=site.line,
            code=site.code,
            tensor=tensor,
            grad_op=grad_op,
            inputs=tuple(tensor_stats(t, f"{i}", limit) for i, t in enumerate(inputs[:6])),
            output=tensor_stats(produced[0], "output", limit) if produced else None,
            dtype=str(produced[0].dtype).replace("torch.", "") if produced else None,
            autocast=self.autocast,
            masked_inputs=sum(1 for t in inputs if "-inf" in _kinds(t)),
        )


def _written(func: Any, args: tuple, kwargs: dict) -> list[torch.Tensor]:
    """Tensors an in-place or out= op writes (foreach lists flattened)."""
    out: list[torch.Tensor] = []
    for i, a in enumerate(func._schema.arguments):
        if a.alias_info is not None and a.alias_info.is_write:
            v = args[i] if i < len(args) else kwargs.get(a.name)
            out.extend(x for x in tree_flatten(v)[0] if isinstance(x, torch.Tensor))
    return out


def _pick_element(func: Any, flat: list[Any], produced: list[torch.Tensor]
                  ) -> tuple[list[torch.Tensor], list[torch.Tensor]] | None:
    """For a `_foreach_` op, the inputs and output of the first element that went bad."""
    if not func._schema.name.split("::")[-1].startswith("_foreach_"):
        return None
    bad = next((j for j, t in enumerate(produced) if not bool(torch.isfinite(t).all())), None)
    if bad is None:
        return None
    lists = [a for a in func._schema.arguments if str(a.type).startswith("Tensor[]")]
    n = len(produced)
    inputs: list[torch.Tensor] = []
    tensors = [x for x in flat if isinstance(x, torch.Tensor)]
    # flat holds each list's elements in order: split them back into lists of length n
    for k in range(0, len(tensors) - n + 1, n):
        chunk = tensors[k:k + n]
        if len(chunk) == n:
            inputs.append(chunk[bad])
    del lists
    return inputs, [produced[bad]]
