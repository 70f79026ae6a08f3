"""Installing the engine's hooks: global ones (zero-code) or on one model (API).

Zero-code mode uses PyTorch's global hooks (module forward pre/post hooks, optimizer
step pre/post hooks) and wraps three process-wide entry points: the backward call,
DataLoader iteration and GradScaler.update. Every wrapper steps aside (and says so
once) if the engine itself fails, so the guard never crashes training unless
`strict` was asked for.
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import torch
from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

from nansentry.errors import NonFiniteError
from nansentry.watch.engine import Engine
from nansentry.watch.loader import patch_dataloader
from nansentry.watch.window import LossWindow


class Installation:
    """The hooks of one engine; `remove()` restores PyTorch exactly as it was."""

    def __init__(self, engine: Engine, model: torch.nn.Module | None = None,
                 optimizers: list[torch.optim.Optimizer] | None = None) -> None:
        self.engine = engine
        self.model = model
        self.optimizers = optimizers
        self._undo: list[Callable[[], None]] = []
        self._pending_rng: list[Any] = []
        self._failed = False
        self.failure: dict[str, Any] | None = None  # {"step", "error"} once the guard stepped aside

    # -- the safety net: internal errors step aside ------------------------------
    def _safe(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if self._failed:
                return None
            try:
                return fn(*args, **kwargs)
            except (NonFiniteError, SystemExit, KeyboardInterrupt):
                raise
            except Exception as exc:  # noqa: BLE001 - the guard must not kill training
                if self.engine.options.strict:
                    raise
                self._failed = True
                self.failure = {"step": self.engine.step, "error": f"{type(exc).__name__}: {exc}"}
                sys.stderr.write(f"nansentry: internal error, the guard steps aside: {type(exc).__name__}: {exc}\n")
                return None
        return wrapper

    def install(self) -> "Installation":
        e = self.engine
        if self.model is None:
            self._install_global_modules()
        else:
            self._install_model(self.model)
        pre, post = self._safe(self._step_pre), self._safe(lambda o, a, k: e.on_step_post(o))
        if self.optimizers is None:
            self._undo.append(register_optimizer_step_pre_hook(pre).remove)
            self._undo.append(register_optimizer_step_post_hook(post).remove)
        else:
            for opt in self.optimizers:
                self._undo.append(opt.register_step_pre_hook(pre).remove)
                self._undo.append(opt.register_step_post_hook(post).remove)
        self._undo.append(patch_dataloader(self._safe(e.on_batch)))
        self._patch_backward()
        self._patch_scaler()
        self._patch_clip()
        return self

    def _step_pre(self, opt: torch.optim.Optimizer, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
        """`opt.step(...)` is about to run. With a closure (LBFGS; any optimizer given one) the
        gradients do not exist yet: the closure is wrapped so the step's check runs after its
        first evaluation, where hiding the gradients still skips the update (LBFGS stops at a
        zero gradient; the others leave a parameter without one alone)."""
        e = self.engine
        closure, put = _closure_arg(args, kwargs)
        if closure is None:
            e.on_step_pre(opt)
            return None
        if not e.begin_update(opt):
            return None
        check = self._safe(e.check_update)
        first = [True]

        def guarded_closure() -> Any:
            out = closure()  # the user's forward and backward: their errors are theirs
            if first[0]:
                first[0] = False
                check(opt)
            return out

        return put(guarded_closure)

    def remove(self) -> None:
        while self._undo:
            self._undo.pop()()

    # -- modules -----------------------------------------------------------------
    def _install_global_modules(self) -> None:
        """Depth-count every module call; a call at depth 0 is a root forward."""
        from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

        e, rng = self.engine, self._pending_rng
        window = e.window = LossWindow(e)  # forensics: the loss ops after a root forward
        self._undo.append(window.close)

        def pre(module: torch.nn.Module, args: tuple) -> None:
            if e.depth == 0:
                window.close()
                rng.append(e.capture_rng())
            e.depth += 1

        def post(module: torch.nn.Module, args: tuple, *rest: Any) -> None:
            # (kwargs, output); when the forward raised, torch calls a global always-called
            # hook with (output) alone (torch 2.13): the call only ends, no root call recorded
            e.depth = max(0, e.depth - 1)
            if len(rest) != 2:
                if e.depth == 0 and rng:
                    rng.pop()
                return
            kwargs, output = rest
            if e.depth == 0 and rng:
                call = e.on_root_forward(module, args, kwargs, rng.pop())
                e.on_root_output(call, output)
                window.open(call, output)

        self._undo.append(register_module_forward_pre_hook(self._safe(pre)).remove)
        self._undo.append(register_module_forward_hook(self._safe(post), with_kwargs=True, always_call=True).remove)

    def _install_model(self, model: torch.nn.Module) -> None:
        e, rng = self.engine, self._pending_rng
        window = e.window = LossWindow(e)  # forensics: the loss ops after a root forward
        self._undo.append(window.close)

        def pre(module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
            window.close()
            rng.append(e.capture_rng())

        def post(module: torch.nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
            if rng:
                call = e.on_root_forward(module, args, kwargs, rng.pop())
                e.on_root_output(call, output)
                window.open(call, output)

        self._undo.append(model.register_forward_pre_hook(self._safe(pre), with_kwargs=True).remove)
        self._undo.append(model.register_forward_hook(self._safe(post), with_kwargs=True, always_call=True).remove)

    # -- process-wide entry points ------------------------------------------------
    def _patch(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        orig = getattr(owner, name)
        setattr(owner, name, functools.wraps(orig)(make(orig)))
        self._undo.append(lambda: setattr(owner, name, orig))

    def _patch_backward(self) -> None:
        on_backward = self._safe(self.engine.on_backward)
        close_window = self._safe(lambda ts: getattr(self.engine, "window", None) and self.engine.window.close(ts))

        def make(orig: Any) -> Any:
            def backward(tensors: Any, *args: Any, **kwargs: Any) -> Any:
                close_window(tuple(tensors) if isinstance(tensors, (tuple, list)) else (tensors,))
                on_backward(tuple(tensors) if isinstance(tensors, (tuple, list)) else (tensors,))
                return orig(tensors, *args, **kwargs)
            return backward

        self._patch(torch.autograd, "backward", make)

    def _patch_scaler(self) -> None:
        on_update = self._safe(self.engine.on_scaler_update)

        def make(orig: Any) -> Any:
            def update(scaler: Any, *args: Any, **kwargs: Any) -> Any:
                out = orig(scaler, *args, **kwargs)
                if scaler.is_enabled():
                    on_update()
                return out
            return update

        self._patch(torch.amp.GradScaler, "update", make)
        on_scale = self._safe(self.engine.on_scaled_loss)

        def make_scale(orig: Any) -> Any:
            def scale(scaler: Any, outputs: Any) -> Any:
                out = orig(scaler, outputs)
                if scaler.is_enabled() and isinstance(outputs, torch.Tensor):
                    on_scale(outputs, out)
                return out
            return scale

        self._patch(torch.amp.GradScaler, "scale", make_scale)

    def _patch_clip(self) -> None:
        e = self.engine

        def make(orig: Any) -> Any:
            def clip_grad_norm_(parameters: Any, max_norm: float, *args: Any, **kwargs: Any) -> Any:
                e.clip_grad_norm = float(max_norm)
                return orig(parameters, max_norm, *args, **kwargs)
            return clip_grad_norm_

        import torch.nn.utils.clip_grad as clip_mod

        for owner in (torch.nn.utils, clip_mod):
            self._patch(owner, "clip_grad_norm_", make)


def _closure_arg(args: tuple, kwargs: dict) -> tuple[Callable[[], Any] | None, Callable[[Any], tuple[tuple, dict]]]:
    """The closure `opt.step` was given (or None) and how to pass another in its place.

    torch hands a step pre-hook the call's own `args`, the optimizer first: `(opt, closure)`."""
    if len(args) > 1 and callable(args[1]):
        return args[1], lambda c: ((args[0], c, *args[2:]), kwargs)
    if callable(kwargs.get("closure")):
        return kwargs["closure"], lambda c: (args, {**kwargs, "closure": c})
    return None, lambda c: (args, kwargs)
