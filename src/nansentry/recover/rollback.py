"""Good states to roll back to: CPU copies of everything an update changes.

A snapshot holds the parameters and floating buffers of the watched models, every
optimizer's state_dict, every LR scheduler's and GradScaler's state_dict, all as CPU
tensors, so a rollback restores them consistently (bit for bit). Cost: one
device-to-host copy of parameters + optimizer state (Adam: ~3x the parameter bytes)
at the cadence of `retention.Cadence`, and that many bytes of host memory per kept
snapshot. Snapshots are taken *before* an update whose loss and gradients were finite
and not spikes; which are kept follows `retention.retained`.
"""

from __future__ import annotations

import contextlib
import gc
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch
from torch.autograd.grad_mode import _unsafe_preserve_version_counter

from nansentry.recover.retention import retained


def to_cpu(obj: Any) -> Any:
    """A deep copy of a (nested) state_dict with every tensor cloned to the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_cpu(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(to_cpu(v) for v in obj)
    return obj


def write_back(live: torch.Tensor, saved: torch.Tensor) -> None:
    """Copy `saved` into the user's tensor in place (the optimizer holds that object), keeping
    its autograd version counter.

    A graph the user still holds may have saved the tensor: a GAN's generator output is made
    before the critic's optimizer step, where a rollback happens, and back-propagated after
    it. A bumped version makes that `backward()` raise and ends the run; kept, the one
    gradient computed through the older graph uses the restored weights (the step after a
    rollback, once)."""
    with torch.no_grad(), keep_version(live):
        live.copy_(saved)


def keep_version(t: torch.Tensor) -> contextlib.AbstractContextManager:
    """Hide an in-place write from autograd's version check (torch's own context manager)."""
    return _unsafe_preserve_version_counter(t)


def _clone(obj: Any) -> Any:
    """Fresh tensors for load_state_dict, which may keep the tensors it is given."""
    if isinstance(obj, torch.Tensor):
        return obj.clone()
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clone(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_clone(v) for v in obj)
    return obj


def _nbytes(obj: Any) -> int:
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(_nbytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(v) for v in obj)
    return 0


@dataclass
class GoodState:
    """One consistent copy of the run at the start of `step` (before its update)."""

    step: int
    tensors: list[torch.Tensor]  # parameters and buffers, CPU copies, in `targets` order
    targets: list[torch.Tensor] = field(repr=False)  # the live tensors they restore
    optimizers: list[dict[str, Any]] = field(repr=False)
    schedulers: list[dict[str, Any]] = field(repr=False)
    scalers: list[dict[str, Any]] = field(repr=False)
    nbytes: int = 0
    n: int = 0  # snapshot number in the run (retention classes)
    ref_loss: float | None = None  # typical loss when the state was taken (divergence watch)
    ref_norm: float | None = None  # typical gradient norm then
    future_from: int = -1  # engine step after which the run went on from this state

    def __post_init__(self) -> None:
        if self.future_from < 0:
            self.future_from = self.step


class Registry:
    """LR schedulers and GradScalers of the run's optimizers.

    Schedulers: those constructed while installed, plus a one-time `gc` scan for those
    constructed before (the Python API is often installed after them), kept when their
    optimizer is one of the run's. GradScalers: those whose `step(optimizer)` is called
    with one of the run's optimizers (a scaler is not tied to an optimizer before that).
    """

    def __init__(self) -> None:
        self.schedulers: weakref.WeakSet[Any] = weakref.WeakSet()
        self.scalers: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._scanned = False

    def install(self) -> Callable[[], None]:
        """Patch LRScheduler.__init__ and GradScaler.step; return the undo function."""
        from torch.optim.lr_scheduler import LRScheduler

        undo = [self._wrap(LRScheduler, self.schedulers), self._wrap_scaler_step()]
        return lambda: [u() for u in undo] and None

    def _wrap_scaler_step(self) -> Callable[[], None]:
        cls, scalers = torch.amp.GradScaler, self.scalers
        orig = cls.step

        def step(scaler: Any, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
            if scaler.is_enabled():
                scalers[id(optimizer)] = scaler
            return orig(scaler, optimizer, *args, **kwargs)

        cls.step = step  # type: ignore[method-assign]
        return lambda: setattr(cls, "step", orig)

    @staticmethod
    def _wrap(cls: type, into: "weakref.WeakSet[Any]") -> Callable[[], None]:
        orig = cls.__init__

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            orig(self, *args, **kwargs)
            into.add(self)

        cls.__init__ = __init__  # type: ignore[method-assign]
        return lambda: setattr(cls, "__init__", orig)

    def scan(self) -> None:
        """Find schedulers and scalers made before the guard (once; walks gc, ~ms per 1e5 objects)."""
        if self._scanned:
            return
        self._scanned = True
        from torch.optim.lr_scheduler import LRScheduler

        for obj in gc.get_objects():
            # not isinstance: that reads __class__, which lazy modules warn about
            if issubclass(type(obj), LRScheduler):
                self.schedulers.add(obj)

    def schedulers_of(self, optimizers: Iterable[torch.optim.Optimizer]) -> list[Any]:
        opts = {id(o) for o in optimizers}
        found = [s for s in list(self.schedulers) if id(getattr(s, "optimizer", None)) in opts]
        return sorted(found, key=id)

    def scalers_of(self, optimizers: Iterable[torch.optim.Optimizer]) -> list[Any]:
        """One entry per optimizer (None where no scaler steps it); a shared scaler is listed once."""
        out: list[Any] = []
        for o in optimizers:
            s = self.scalers.get(id(o))
            out.append(s if s is not None and all(s is not t for t in out) else None)
        return out


class StateStore:
    """`keep` good states spread over the recent past (`retention.retained`), within `max_bytes`."""

    def __init__(self, keep: int = 5, max_bytes: int | None = None) -> None:
        self.keep = keep
        self.taken = 0
        self.max_bytes = max_bytes
        self.states: list[GoodState] = []
        self.registry = Registry()
        self.too_big = False  # one snapshot alone exceeds the bound: rollback unavailable
        self.seconds = 0.0  # time spent taking snapshots, for the report
        self.last_seconds = 0.0

    @property
    def latest(self) -> GoodState | None:
        return self.states[-1] if self.states else None

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.states)

    def save(self, step: int, modules: Iterable[torch.nn.Module],
             optimizers: list[torch.optim.Optimizer], scalers: bool = True) -> GoodState | None:
        """Copy the current state to the CPU; None if it does not fit the memory bound."""
        import time

        self.registry.scan()  # once, before the clock: its cost is not a snapshot's
        t0 = time.perf_counter()
        targets = _targets(modules, optimizers)
        with torch.no_grad():
            tensors = [t.detach().to("cpu", copy=True) for t in targets]  # sync: device-to-host copy
        state = GoodState(
            step=step, tensors=tensors, targets=targets,
            optimizers=[to_cpu(o.state_dict()) for o in optimizers],
            schedulers=[to_cpu(s.state_dict()) for s in self.registry.schedulers_of(optimizers)],
            scalers=[to_cpu(s.state_dict()) if s is not None and scalers else {}
                     for s in self.registry.scalers_of(optimizers)],
        )
        state.nbytes = sum(t.numel() * t.element_size() for t in tensors) + _nbytes(state.optimizers)
        self.last_seconds = time.perf_counter() - t0
        self.seconds += self.last_seconds
        if self.max_bytes is not None and state.nbytes > self.max_bytes:
            self.too_big = True
            return None
        state.n, self.taken = self.taken, self.taken + 1
        self.states.append(state)
        kept = set(retained([s.n for s in self.states], self.keep))
        self.states = [s for s in self.states if s.n in kept]
        while self.max_bytes is not None and self.nbytes > self.max_bytes:
            self.states.pop(0)  # the oldest first; the newest alone fits
        return state

    def drop_after(self, state: GoodState) -> None:
        """Forget the states newer than `state` (taken on a branch a rollback abandoned)."""
        self.states = [s for s in self.states if s.step <= state.step]

    def restore(self, state: GoodState, optimizers: list[torch.optim.Optimizer]) -> None:
        """Put parameters, buffers, optimizer, scheduler and scaler state back as they were."""
        for live, saved in zip(state.targets, state.tensors):
            write_back(live, saved)
        for opt, sd in zip(optimizers, state.optimizers):
            opt.load_state_dict(_clone(sd))
        for sched, sd in zip(self.registry.schedulers_of(optimizers), state.schedulers):
            sched.load_state_dict(_clone(sd))
        for scaler, sd in zip(self.registry.scalers_of(optimizers), state.scalers):
            if sd and scaler is not None:
                scaler.load_state_dict(_clone(sd))


def _targets(modules: Iterable[torch.nn.Module], optimizers: list[torch.optim.Optimizer]) -> list[torch.Tensor]:
    """Every parameter of the optimizers and every buffer of the modules, once each."""
    seen: set[int] = set()
    out: list[torch.Tensor] = []
    tensors: list[torch.Tensor] = [p for o in optimizers for g in o.param_groups for p in g["params"]]
    for m in modules:
        tensors += [p for p in m.parameters()]
        tensors += list(m.buffers())  # BatchNorm statistics and counters too
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out
