"""The step state machine shared by the Python API and `nansentry run`.

Hooks (installed by `watch.install`) call the `on_*` methods; the engine keeps the
current step's snapshot and device probes, and at each optimizer step reads them back
with one host sync, appends a StepRecord to the trace, and hands the first
non-finite value to `watch.outcome` (forensics -> diagnosis -> reports -> recovery).
"""

from __future__ import annotations

import math
from dataclasses import replace
import time
from typing import Any, Callable, Protocol

import torch

from nansentry.records import StepRecord
from nansentry.trace import Trace
from nansentry.watch.naming import ParamNames
from nansentry.watch.options import Options
from nansentry.watch.probes import Probes, grad_tensors, has_nonfinite, norms
from nansentry.watch.snapshot import BatchRef, RootCall, StepSnapshot
from nansentry.watch.tensors import device_minmax, iter_float_tensors

UPDATE_RATIO_EVERY = 10  # steps between exact update-to-weight ratios (one param copy)
OUTPUT_PROBE_STEPS = 10  # root outputs are reduced on these first steps only; later, on failure


class Recovery(Protocol):
    """What a recovery policy may do around a healthy update."""

    def before_update(self, engine: "Engine", opt: torch.optim.Optimizer, grads: list[torch.Tensor],
                      record: StepRecord) -> None: ...

    def after_update(self, engine: "Engine", opt: torch.optim.Optimizer, skipped: bool) -> None: ...


def _params_of(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for g in opt.param_groups for p in g["params"]]


def _lr_of(opt: torch.optim.Optimizer) -> float | None:
    lr = opt.param_groups[0].get("lr") if opt.param_groups else None
    if isinstance(lr, torch.Tensor):
        return None  # a tensor lr would cost a sync; the trace leaves it out
    return None if lr is None else float(lr)


class Engine:
    """Per-step checks and the trace; `on_event` decides what a non-finite value does."""

    def __init__(self, options: Options, on_event: Callable[["Engine", int, str, Any], bool]) -> None:
        self.options = options
        self.on_event = on_event  # returns True to skip the current optimizer step
        path = options.report_dir / "trace.jsonl" if options.report_dir else None
        self.trace = Trace(options.trace_capacity, path)
        self.names = ParamNames()
        self.step = 0
        self.snapshot = StepSnapshot(0)
        self.probes = Probes()
        self.lead: torch.optim.Optimizer | None = None
        self.optimizers: list[torch.optim.Optimizer] = []
        self.stopped = False
        self.grad_scaler = False
        self.autocast_dtype: str | None = None
        self._t0 = time.perf_counter()
        self._param_probe: tuple[torch.optim.Optimizer, list[int]] | None = None
        self._before: list[torch.Tensor] | None = None
        self._skipped: dict[int, list[tuple[torch.Tensor, torch.Tensor | None]]] = {}
        self._stepped_since_update = False
        self._carry_norms: dict[str, float] = {}
        self.depth = 0
        self._scaled: set[int] = set()  # ids of GradScaler outputs awaiting backward
        self.clip_grad_norm: float | None = None
        self.recovery: Recovery | None = None  # set by the session under --recover auto
        self.window: Any = None  # watch.window.LossWindow, set by watch.install

    # ---- data -------------------------------------------------------------------
    def on_batch(self, batch: Any, indices: list[Any] | None) -> None:
        tensors = list(iter_float_tensors(batch))
        self.snapshot.batches.append(BatchRef(batch, indices, len(tensors)))
        if self.options.check_data and tensors:
            self.probes.add("batch", device_minmax(tensors))
        if self.window is not None:
            self.window.open_batch()  # forensics: the loop's own ops on the batch

    # ---- forward ----------------------------------------------------------------
    def capture_rng(self) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        """RNG state before a root forward, so a replay draws the same dropout masks."""
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
        return torch.get_rng_state(), cuda

    def on_root_forward(self, module: torch.nn.Module, args: tuple, kwargs: dict,
                        rng: tuple[torch.Tensor, list[torch.Tensor] | None]) -> RootCall | None:
        if not torch.is_grad_enabled():
            return None  # evaluation: not part of a training step
        self.names.add_root(module)
        call = RootCall(module, args, kwargs, rng[0], rng[1], True, _autocast_state())
        if call.autocast and self.autocast_dtype is None:
            self.autocast_dtype = call.autocast["dtype"]
        self.snapshot.root_calls.append(call)
        return call

    def on_root_output(self, call: RootCall | None, output: Any) -> None:
        if call is None:
            return
        call.output = output
        if self.step < OUTPUT_PROBE_STEPS:  # the scale at the start is evidence of bad init
            self.probes.add("output", device_minmax(list(iter_float_tensors(output))))
            if not self.snapshot.batches:  # no DataLoader: the model's inputs show the data scale
                self.probes.add("input", device_minmax(list(iter_float_tensors((call.args, call.kwargs)))))

    # ---- loss and backward ------------------------------------------------------
    def on_scaled_loss(self, loss: torch.Tensor, scaled: torch.Tensor) -> None:
        """GradScaler.scale(loss): watch the loss itself, not loss * scale.

        A scale near the float range can overflow the scaled loss on purpose; the
        scaler then skips the step, which is its business, not a NaN event.
        """
        self._scaled.add(id(scaled))
        self.on_backward((loss,))

    def on_backward(self, tensors: tuple[torch.Tensor, ...]) -> None:
        for t in tensors:
            if id(t) in self._scaled:
                self._scaled.discard(id(t))
                continue
            if isinstance(t, torch.Tensor) and t.is_floating_point():
                loss = t.detach()
                self.snapshot.losses.append(loss)
                self.probes.add("loss", [loss.float().sum()])

    # ---- optimizer --------------------------------------------------------------
    def on_step_pre(self, opt: torch.optim.Optimizer) -> None:
        """Before `opt.step()`: the step's check, then the update goes ahead or is skipped."""
        if self.begin_update(opt):
            self.check_update(opt)

    def begin_update(self, opt: torch.optim.Optimizer) -> bool:
        """Register `opt` as stepping; False once the run was stopped."""
        if self.window is not None:
            self.window.close()  # the loss window ends at the latest here
        if self.stopped:
            return False
        if self.lead is None:
            self.lead = opt
        if opt not in self.optimizers:
            self.optimizers.append(opt)
            self.names.add_optimizer(opt, len(self.optimizers) - 1)
        self.snapshot.optimizer = opt
        if opt not in self.snapshot.optimizers:
            self.snapshot.optimizers.append(opt)
        return True

    def check_update(self, opt: torch.optim.Optimizer) -> None:
        """The gradients are in: read the step's probes (one sync), raise the event on a
        non-finite value, skip (hide the gradients) or let the update go ahead.

        For an optimizer that computes its own gradients (`opt.step(closure)`: LBFGS), this
        runs after the closure's first evaluation, inside the step (`watch/install.py`)."""
        if self.window is not None:
            self.window.close()
        if self.stopped:
            return
        params = _params_of(opt)
        gidx, grads = grad_tensors(params)
        self.probes.add("grad", norms(grads))
        values = self.probes.read()  # sync: the one host sync of this step
        if self._param_probe is not None:  # deferred (GPU) check of the last update
            popt, pidx = self._param_probe
            self._param_probe = None
            self._update_last(values, self.step - 1)
            if self._check_params(popt, pidx, values.get("param", []), self.step - 1):
                return
        record, phase = self._record(opt, params, gidx, grads, values)
        skip = False
        if phase is not None:
            skip = self.on_event(self, self.step, phase, opt)
        if opt is self.lead:
            self.trace.append(record if not skip else replace(record, skipped=True))
        if skip:
            self.hide_grads(opt, params)
        else:
            if self.recovery is not None:  # clip, lower the step size (recover auto)
                self.recovery.before_update(self, opt, grads, record)
            if opt is self.lead and self.step % UPDATE_RATIO_EVERY == 0:
                self._before = [p.detach().clone() for p in params]
        self._stepped_since_update = True

    def on_step_post(self, opt: torch.optim.Optimizer) -> None:
        if self.stopped:
            return
        params = _params_of(opt)
        skipped = self._skipped.pop(id(opt), None)
        if skipped is not None:  # give the user back the gradients we hid
            for p, g in skipped:
                p.grad = g
        else:
            pidx = list(range(len(params)))
            self.probes.add("param", norms([p.detach() for p in params]))
            if self._before is not None and opt is self.lead:
                delta = torch._foreach_sub([p.detach() for p in params], self._before)
                self.probes.add("update", norms(delta))
                self._before = None
            if all(p.device.type == "cpu" for p in params[:1]):
                values = self.probes.read()  # CPU: reading back costs no device sync
                self._update_last(values, self.step)
                if self._check_params(opt, pidx, values.get("param", []), self.step):
                    return
            else:
                self._param_probe = (opt, pidx)
        if self.recovery is not None:
            self.recovery.after_update(self, opt, skipped is not None)
        if opt is self.lead:
            self.next_step()

    def on_scaler_update(self) -> None:
        """GradScaler.update(): if it skipped the optimizer step, close the step here."""
        self.grad_scaler = True
        if self._stepped_since_update or self.stopped:
            self._stepped_since_update = False
            return
        values = self.probes.read()  # the scaler already synced on its found_inf
        phase = _phase_of(values, grad_bad=False)
        rec = StepRecord(step=self.step, loss=_sum(values.get("loss")), nonfinite=phase is not None,
                         phase=phase, skipped=True, note="grad-scaler skip (fp16 gradient overflow)",
                         wall_time=self._tick())
        if phase is not None:
            self.on_event(self, self.step, phase, None)
        self.trace.append(rec)
        self.next_step()

    def finish(self) -> None:
        """End of the run: read what is still pending (the last update's check)."""
        if self._param_probe is not None and not self.stopped:
            popt, pidx = self._param_probe
            self._param_probe = None
            values = self.probes.read()
            self._check_params(popt, pidx, values.get("param", []), self.step - 1)
        self.trace.flush()

    # ---- internals --------------------------------------------------------------
    def _record(self, opt, params, gidx, grads, values) -> tuple[StepRecord, str | None]:
        gvals = values.get("grad", [])
        grad_bad = any(not math.isfinite(v) for v in gvals)
        if grad_bad:  # a norm can overflow while every element is finite: look closer
            suspects = [grads[i] for i, v in enumerate(gvals) if not math.isfinite(v)]
            grad_bad = any(has_nonfinite(suspects))
        phase = _phase_of(values, grad_bad)
        if phase in ("loss", "backward") and "output" not in values and self._outputs_nonfinite():
            phase = "forward"  # failure path only: the held outputs tell forward from loss
        if phase in ("forward", "loss", "backward") and not self.snapshot.batches and self._inputs_nonfinite():
            phase = "data"  # no DataLoader: the model's inputs already held it, and are the batch
            self.snapshot.batches = [BatchRef((c.args, c.kwargs), None) for c in self.snapshot.root_calls]
        batch = values.get("batch") or values.get("input", [])
        absmax = [max(abs(batch[i]), abs(batch[i + 1])) for i in range(0, len(batch) - 1, 2)]
        out = values.get("output", [])
        per_module = self.names.group_norms(opt, gidx, gvals)
        for k, v in self._carry_norms.items():
            per_module.setdefault(k, v)
        self._carry_norms = {} if opt is self.lead else {**self._carry_norms, **per_module}
        rec = StepRecord(
            step=self.step,
            loss=_sum(values.get("loss")),
            grad_norm=math.sqrt(sum(v * v for v in gvals)) if gvals else None,
            lr=_lr_of(opt),
            wall_time=self._tick() if opt is self.lead else 0.0,
            module_grad_norms=per_module,
            batch_absmax=absmax,
            output_absmax=max((abs(v) for v in out), default=None) if out else None,
            nonfinite=phase is not None,
            phase=phase,
        )
        return rec, phase

    def _inputs_nonfinite(self) -> bool:
        """Did a model input hold NaN/Inf that the model's own computation did not make?

        An input with a `grad_fn` was computed in this step from the parameters (a rollout
        feeding the policy's output back in, a decoder fed its own samples): a non-finite
        value there was made by the forward pass in the user's code, not brought by the data.
        """
        ins = [t for c in self.snapshot.root_calls for t in iter_float_tensors((c.args, c.kwargs))
               if t.grad_fn is None]
        return any(has_nonfinite(ins))

    def _outputs_nonfinite(self) -> bool:
        outs = [t for c in self.snapshot.root_calls for t in iter_float_tensors(c.output)]
        return any(has_nonfinite(outs))

    def _check_params(self, opt, pidx, pvals, step: int) -> bool:
        """True (and the event raised) if the update left a non-finite parameter."""
        if all(math.isfinite(v) for v in pvals):
            return False
        params = _params_of(opt)
        bad = [i for i in pidx if not bool(torch.isfinite(params[i].detach()).all())]
        if not bad:
            return False
        self.snapshot.optimizer = opt
        self.on_event(self, step, "optimizer", (opt, bad))
        return True

    def _update_last(self, values: dict[str, list[float]], step: int) -> None:
        """Fill the parameter norm and update ratio of the record of `step`."""
        last = self.trace.last()
        pv = values.get("param")
        if last is None or last.step != step or not pv:
            return
        pnorm = math.sqrt(sum(v * v for v in pv))
        ratio = None
        if values.get("update"):
            unorm = math.sqrt(sum(v * v for v in values["update"]))
            ratio = unorm / pnorm if pnorm > 0 else None
        self.trace.replace_last(param_norm=pnorm, update_ratio=ratio)

    def hide_grads(self, opt: torch.optim.Optimizer, params: list[torch.Tensor]) -> None:
        """Hide the gradients so the optimizer leaves params and state untouched."""
        self._skipped[id(opt)] = [(p, p.grad) for p in params]
        for p in params:
            p.grad = None

    def next_step(self) -> None:
        self._scaled.clear()
        self.step += 1
        self.snapshot.clear(self.step)

    def _tick(self) -> float:
        now = time.perf_counter()
        dt, self._t0 = now - self._t0, now
        return dt


def _phase_of(values: dict[str, list[float]], grad_bad: bool) -> str | None:
    """The earliest stage whose probe saw a non-finite value."""
    for group, phase in (("batch", "data"), ("output", "forward"), ("loss", "loss")):
        if any(not math.isfinite(v) for v in values.get(group, [])):
            return phase
    return "backward" if grad_bad else None


def _sum(vals: list[float] | None) -> float | None:
    return float(sum(vals)) if vals else None


def _autocast_state() -> dict[str, Any] | None:
    for dev in ("cuda", "cpu"):
        try:
            if torch.is_autocast_enabled(dev):
                return {"device": dev, "dtype": str(torch.get_autocast_dtype(dev)).replace("torch.", "")}
        except (TypeError, RuntimeError, AttributeError):
            continue
    return None
