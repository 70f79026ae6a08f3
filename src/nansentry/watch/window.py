"""The loss window recorder: the user's ops between a root forward and `backward()`.

Those few lines (the loss) are the user's own code, which forensics cannot call
again, so they are recorded as they run: a `TorchDispatchMode` entered when a root
forward ends with grad enabled and left at `backward()`, at the next root forward and
at the optimizer step. The training loop's own ops on a fresh DataLoader batch before
the model sees it (targets normalised in the loop, inputs scaled) are recorded the same
way, from the batch's arrival to the next root forward (at most MAX_BEFORE_OPS): a 0/0
there shows in the loss or forward, yet no module or loss op produced it. Each aten op is kept as (func, argument template, user
source line); tensors in the template are placeholders for the outputs of earlier
ops or of the step's root forwards, so a replay can substitute re-computed tensors.

Cost on healthy steps (measured in docs/forensics.md): one Python dispatch per loss
op (a cross-entropy is 2-4 ops), no checks, no syncs, no copies. Memory: only weak
references to the window's own outputs; strong references only to tensors the loss
takes from outside (targets, masks), which the user holds anyway. At most MAX_OPS
ops a step are recorded; past that the window is marked truncated and stops.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode, _get_current_dispatch_mode
from torch.utils._pytree import tree_flatten

MAX_OPS = 256  # ops recorded per step; a loss is usually < 30
MAX_BEFORE_OPS = 32  # of which the training loop's own ops on a batch before the model (own budget)


# ---- where in the user's code ---------------------------------------------------
def _internal_prefixes() -> tuple[str, ...]:
    import nansentry

    dirs = [os.path.dirname(torch.__file__), os.path.dirname(nansentry.__file__)]
    return tuple(os.path.join(d, "") for d in dirs)


_PREFIXES: tuple[str, ...] | None = None
_STDLIB = os.path.join(sysconfig.get_paths()["stdlib"], "")
_IS_USER: dict[str, bool] = {}


def is_user_file(filename: str) -> bool:
    """False for torch, nansentry, the standard library and frozen modules (cached)."""
    r = _IS_USER.get(filename)
    if r is None:
        global _PREFIXES
        if _PREFIXES is None:
            _PREFIXES = _internal_prefixes()
        lib = filename.startswith(_STDLIB) and "-packages" not in filename
        r = not (filename.startswith(_PREFIXES) or filename.startswith("<") or lib)
        r = r or filename.startswith(os.path.join(_PREFIXES[1], "examples", ""))  # shipped user scripts
        _IS_USER[filename] = r
    return r


def user_site(depth: int = 1, stop_at_nansentry: bool = False) -> tuple[str, int] | None:
    """(file, line) of the innermost user frame on the current stack.

    With `stop_at_nansentry`, frames past the first nansentry frame are not looked
    at (a replay: what lies beyond is the optimizer hook, not the original caller).
    Cost: a few frame hops (about a microsecond each); no traceback objects.
    """
    f = sys._getframe(depth)
    while f is not None:
        name = f.f_code.co_filename
        if is_user_file(name):
            return name, f.f_lineno
        if stop_at_nansentry and _PREFIXES is not None and name.startswith(_PREFIXES[1]):
            return None
        f = f.f_back
    return None


# ---- records ----------------------------------------------------------------------
@dataclass(frozen=True)
class Ref:
    """Output `index` of recorded op `op` of this step's loss windows."""

    op: int
    index: int


@dataclass(frozen=True)
class Out:
    """Tensor `index` (in `flat_tensors` order) of the output of root call `call`."""

    call: int
    index: int


@dataclass
class LossOp:
    func: Any  # torch._ops.OpOverload
    flat: list[Any]  # args and kwargs, flattened, tensors replaced by Ref/Out when known
    spec: Any  # pytree spec to rebuild (args, kwargs)
    n_out: int
    site: tuple[str, int] | None
    drawn: list[torch.Tensor] | None = None  # a random op's outputs before the model: replayed as drawn


@dataclass
class Segment:
    """The ops recorded after root call `call`, until the window closed."""

    call: int  # -1: before the step's first root call
    start: int  # index of its first op in the step's op list
    before_model: bool = False  # the training loop's ops on a fresh batch, until the next root call
    ops: list[LossOp] = field(default_factory=list)
    backward: list[Any] | None = None  # what was passed to backward() (Ref/Out/tensor)
    truncated: bool = False
    call_site: tuple[str, int] | None = None  # the user's line that called the root module


def flat_tensors(obj: Any) -> list[torch.Tensor]:
    """Every tensor of a nested output, in a stable order (dataclasses included)."""
    import dataclasses

    leaves, _ = tree_flatten(obj)
    out: list[torch.Tensor] = []
    for leaf in leaves:
        if isinstance(leaf, torch.Tensor):
            out.append(leaf)
        elif dataclasses.is_dataclass(leaf) and not isinstance(leaf, type):
            for f in dataclasses.fields(leaf):
                out.extend(flat_tensors(getattr(leaf, f.name, None)))
    return out


class _Mode(TorchDispatchMode):
    def __init__(self, window: "LossWindow") -> None:
        super().__init__()
        self.window = window

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.window.record(func, args, kwargs, out)
        return out


class LossWindow:
    """Records this step's loss ops into `engine.snapshot.loss_ops` (a list of Segment)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._mode: _Mode | None = None
        self._ids: dict[int, tuple[weakref.ref, Any]] = {}  # id(tensor) -> (ref, Ref | Out)
        self._snap: Any = None
        self._segment: Segment | None = None
        self._count = 0  # ops recorded this step
        self._before = 0  # of which before the model
        self._leaked: list[_Mode] = []

    def _known(self, t: torch.Tensor) -> Any:
        hit = self._ids.get(id(t))
        if hit is not None and hit[0]() is t:
            return hit[1]
        return None

    def _remember(self, t: torch.Tensor, ph: Any) -> None:
        self._ids[id(t)] = (weakref.ref(t), ph)

    def _can_record(self) -> bool:
        e = self.engine
        if e.stopped or not torch.is_grad_enabled():
            return False
        if torch._C._len_torch_dispatch_stack() > 0 or torch.compiler.is_compiling():
            return False  # another mode (or a replay) owns the stack: never interleave with it
        snap = e.snapshot
        if snap is not self._snap or snap.loss_ops is None:  # a new step
            self._snap, self._ids, self._count, self._before = snap, {}, 0, 0
            snap.loss_ops = []
        return True

    def _start(self, seg: Segment) -> None:
        self._segment = seg
        self._snap.loss_ops.append(seg)
        if self._count - self._before >= MAX_OPS or (seg.before_model and self._before >= MAX_BEFORE_OPS):
            seg.truncated = True
            return
        self._mode = _Mode(self)
        self._mode.__enter__()

    def open_batch(self) -> None:
        """A DataLoader batch arrived (main thread, training): record the loop's ops on it
        until the next root forward. Not while a loss window is open (a batch fetched
        before backward belongs to the next step's code)."""
        if self._segment is not None or threading.current_thread() is not threading.main_thread():
            return
        if not self._can_record():
            return
        self._start(Segment(len(self._snap.root_calls) - 1, self._count, before_model=True))

    def open(self, call: Any, output: Any) -> None:
        """A root forward ended: start recording (only if nothing else is on the mode stack)."""
        self.close()
        if call is None or not self._can_record():
            return
        snap = self._snap
        ci = len(snap.root_calls) - 1
        flat = tree_flatten((call.args, call.kwargs))[0]
        refs = [self._known(a) if isinstance(a, torch.Tensor) else None for a in flat]
        if any(r is not None for r in refs):
            call.arg_refs = [r if r is not None else a for r, a in zip(refs, flat)]
        for j, t in enumerate(flat_tensors(output)):
            self._remember(t, Out(ci, j))
        self._start(Segment(ci, self._count, call_site=user_site(2)))

    def record(self, func: Any, args: tuple, kwargs: dict, out: Any) -> None:
        seg = self._segment
        if seg is None or seg.truncated:
            return
        if seg.before_model and self._before >= MAX_BEFORE_OPS:
            seg.truncated = True  # what was recorded still replays; later tensors count as given
            return
        if self._count - self._before >= MAX_OPS:
            seg.truncated = True
            return
        flat, spec = tree_flatten((args, kwargs))
        for i, a in enumerate(flat):
            if isinstance(a, torch.Tensor):
                ph = self._known(a)
                if ph is not None:
                    flat[i] = ph
        outs = [o for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor)]
        k = self._count
        for j, o in enumerate(outs):
            self._remember(o, Ref(k, j))
        op = LossOp(func, flat, spec, len(outs), user_site(3))
        if seg.before_model:
            self._before += 1
            if torch.Tag.nondeterministic_seeded in func.tags:
                op.drawn = outs  # augmentation noise: a replay must see the same draw
        seg.ops.append(op)
        self._count += 1

    def close(self, backward: tuple | None = None) -> None:
        """Leave the mode (if it is on top of the stack); note what backward() was given."""
        seg = self._segment
        if seg is not None and backward is not None:
            seg.backward = [self._known(t) or t if isinstance(t, torch.Tensor) else t for t in backward]
        self._segment = None
        mode, self._mode = self._mode, None
        if mode is not None and _get_current_dispatch_mode() is mode:
            mode.__exit__(None, None, None)
        elif mode is not None:
            # a user mode was entered above ours and is still active: leave ours
            # (idle) rather than pop theirs; it is popped once it is on top again
            self._leaked.append(mode)
        while self._leaked and _get_current_dispatch_mode() is self._leaked[-1]:
            self._leaked.pop().__exit__(None, None, None)
