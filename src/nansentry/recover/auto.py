"""`--recover auto`: the ladder wired to the engine's hook points.

The engine calls `before_update` / `after_update` around every healthy update (take a
good-state snapshot at the cadence, clip, apply the LR factor) and the session calls
`act` at each non-finite step with the ladder's plan. Everything done is reported
through `intervene` (the report's `interventions`, one stderr line) and noted on the
step's trace record.
"""

from __future__ import annotations

import math
import statistics
import sys
import weakref
from typing import Any, Callable

import torch

from nansentry.forensics.whatif import loss_under
from nansentry.recover.backoff import LRBackoff
from nansentry.recover.buffers import heal_buffers
from nansentry.recover.clip import Clipper, threshold_from
from nansentry.recover.config import RecoveryConfig
from nansentry.recover.ladder import CODE_BUGS, DIVERGENCE, Evidence, Plan
from nansentry.recover.quarantine import Quarantine
from nansentry.recover.retention import Cadence, pick
from nansentry.recover.rollback import GoodState, StateStore
from nansentry.recover.signals import (DIVERGED, RECENT, above, alive, cliff, diverging, exploding, improved,
                                      is_good, norm_led)
from nansentry.recover.state import Counters, RecoveryState

CLIMB = 50.0  # a loss this far above its median, rising, with the gradient norm up too: diverging while finite
PERSIST = 2  # clipping exploding gradients: the loss must stay DIVERGED x up this many steps (2 beat 1 and 3)
CLIMB_NORM = CLIMB ** 0.5  # the gradient grows as the square root of a loss quadratic in the error


class AutoRecovery:
    """The ladder's actions and state for one run (the engine's `Recovery`)."""

    def __init__(self, cfg: RecoveryConfig, quarantine: Quarantine,
                 intervene: Callable[[int, str, str], None]) -> None:
        self.cfg = cfg
        self.quarantine = quarantine
        self.intervene = intervene
        max_bytes = int(cfg.snapshot_max_mb * 2**20) if cfg.snapshot_max_mb is not None else None
        self.store = StateStore(cfg.snapshot_keep, max_bytes)
        self.cadence = Cadence(cfg.snapshot_every, cfg.snapshot_overhead)
        self.clipper = Clipper()
        self.backoff = LRBackoff()
        self.counters = Counters()
        self.roots: weakref.WeakSet[torch.nn.Module] = weakref.WeakSet()
        self.code_fix: str | None = None  # set when a code bug was only skipped
        self._notes: dict[int, list[str]] = {}
        self._warned_memory = False
        self._last_snapshot: int | None = None
        self._every = cfg.snapshot_every or 1  # the cadence last used
        self._since = -1  # step of the last rollback: older records describe a run that is gone
        self._ref_loss: float | None = None  # typical loss at the state last rolled back to
        self._at_factor = 0  # healthy updates made at the current LR factor (across rollbacks)
        self._factor_since = -1  # step of the last backoff
        self._clip_cures = False  # clipping was turned on as the cure of exploding gradients

    # ---- around healthy updates (engine hook points) ---------------------------
    def before_update(self, engine: Any, opt: torch.optim.Optimizer, grads: list[torch.Tensor],
                      record: Any) -> None:
        for call in engine.snapshot.root_calls:
            self.roots.add(call.module)
        if opt is engine.lead and self._caught_diverging(engine, opt, record):
            return
        if opt is engine.lead and self._due(engine, record):
            self._snapshot(engine, record)
        factor = self.clipper.clip_(grads, record.grad_norm)
        if factor is not None:
            self.counters.clipped_steps += 1
            self._note(engine.step, f"clipped {record.grad_norm:.3g} -> {self.clipper.threshold:.3g}")
        if self.backoff.factor != 1.0:
            self.backoff.apply(opt, engine.optimizers.index(opt) if opt in engine.optimizers else -1)
            self._note(engine.step, f"lr x{self.backoff.factor:.3g}")
        self._flush_notes(engine)

    def after_update(self, engine: Any, opt: torch.optim.Optimizer, skipped: bool) -> None:
        self.backoff.restore(opt)
        if opt is engine.lead and not skipped:
            self._at_factor += 1
        self._flush_notes(engine)

    def _due(self, engine: Any, record: Any) -> bool:
        # steps since the last snapshot (or rollback), so a spiky cadence step retries at the next
        if self.store.too_big:
            return False
        recent = engine.trace.tail(RECENT + 1)[:-1]
        if self._last_snapshot is not None:
            self._every = self.cadence.every([r.wall_time for r in recent])
            if engine.step - self._last_snapshot < self._every:
                return False
        return is_good(record, recent)

    def _caught_diverging(self, engine: Any, opt: torch.optim.Optimizer, record: Any) -> bool:
        """A finite loss that is already diverging: roll back now rather than wait for inf.

        Only when the weights, not the batch, explain it: under the last good state's weights
        the same batch must give a loss DIVERGED x lower (one forward replay, this step only)."""
        why = self._climbing(engine, record)
        if why is None:
            return False
        good = self._target(engine)
        if self.counters.rollbacks >= self.cfg.max_rollbacks or good is None:
            self._ref_loss = None  # budget spent: the next non-finite step stops the run
            return False
        at_good = loss_under(engine, list(zip(good.targets, good.tensors)))
        if at_good is None or not above(record.loss, at_good, DIVERGED):
            return False  # the batch is hard under the good weights too (or cannot be re-run): not the weights
        why += f"; the good state of step {good.step} gives this batch {at_good:.4g}: the weights diverged"
        engine.hide_grads(opt, _params(opt))  # hide the grads: the engine skips this update
        engine.trace.replace_last(skipped=True)
        ev = Evidence(step=engine.step, phase="loss", root_cause="learning_rate_too_high", diverging=True,
                      has_good_state=True, rollbacks=self.counters.rollbacks)
        self.intervene(engine.step, "skip", why)
        self.counters.skipped_steps += 1
        # a finite climb alone cannot tell a too-large step from exploding gradients: cure both
        clip = self.clipper.threshold is None and self._threshold(engine) is not None
        self.act(engine, engine.step, Plan(rollback=True, backoff=True, clip=clip), ev, None, target=good)
        self._flush_notes(engine)
        return True

    def _climbing(self, engine: Any, record: Any) -> str | None:
        """Why this finite step is already diverging, or None.

        After a rollback: a loss DIVERGED x above the good state's typical loss (the smaller
        step size is still too large). Otherwise: the loss CLIMB x above its median since the last
        rollback and the gradient norm CLIMB_NORM x above its own, the loss rising over the last three steps
        (a healthy spike is one step, not a climb)."""
        loss, norm = record.loss, record.grad_norm
        if loss is None or not math.isfinite(loss):
            return None
        ref = self._ref_loss
        if ref is not None:
            if not above(loss, ref, DIVERGED):
                return None
            if self._clip_cures:
                # clipping on against exploding gradients bounds the updates: a jump that falls
                # back within PERSIST steps heals itself (not so when clipping came with a divergence)
                prev = alive(engine.trace.tail(PERSIST)[:-1], self._since)
                if len(prev) < PERSIST - 1 or any(not above(p.loss, ref, DIVERGED) for p in prev):
                    return None
            return f"loss {loss:.4g} is over {DIVERGED:g}x the good state's typical {ref:.4g}"
        past = alive(engine.trace.tail(RECENT + 1)[:-1], self._since)
        if len(past) < 5 or norm is None or not math.isfinite(norm):
            return None
        losses = [r.loss for r in past]
        norms = [r.grad_norm for r in past if r.grad_norm is not None and math.isfinite(r.grad_norm)]
        base, base_norm = statistics.median(losses), statistics.median(norms) if norms else None
        rising = losses[-2] < losses[-1] < loss and past[-1].step == record.step - 1
        if (rising and base_norm and above(loss, base, CLIMB) and norm > CLIMB_NORM * base_norm):
            return (f"loss {loss:.4g} is over {CLIMB:g}x its median {base:.4g} and rising, gradient norm "
                    f"{norm:.4g} (median {base_norm:.4g})")
        return None

    def _snapshot(self, engine: Any, record: Any) -> None:
        state = self.store.save(engine.step, list(self.roots), list(engine.optimizers), scalers=True)
        if state is not None:
            self.cadence.observe(self.store.last_seconds)
            recent = alive(engine.trace.tail(RECENT), self._since)
            state.ref_loss = statistics.median([r.loss for r in recent]) if recent else record.loss
            norms = [r.grad_norm for r in recent if r.grad_norm is not None and math.isfinite(r.grad_norm)]
            state.ref_norm = statistics.median(norms) if norms else record.grad_norm
        if state is None and not self._warned_memory:
            self._warned_memory = True
            sys.stderr.write(f"nansentry: a good-state snapshot needs more than snapshot_max_mb="
                             f"{self.cfg.snapshot_max_mb}: rollback is off; raise the bound to enable it\n")
        elif state is not None:
            self.counters.snapshots += 1
            self._last_snapshot = engine.step

    # ---- at a non-finite step ----------------------------------------------------
    def evidence(self, engine: Any, step: int, phase: str, root_cause: str, bad_samples: list[int],
                 applied: bool, skippable: bool, in_row: int, positions: tuple[int, ...] = ()) -> Evidence:
        total = self.quarantine.dataset_len
        room = self.cfg.max_quarantined
        if total:
            room = min(room, int(self.cfg.max_quarantined_fraction * total))
        fresh = tuple(i for i in bad_samples if i not in self.quarantine)
        healthy = alive(engine.trace.records(), self._since)
        if root_cause == "fp16_overflow" and not _has_fp16(engine):
            root_cause = "unknown"  # no float16 in this run: the rule's guess does not apply
        if root_cause not in ("dirty_data",) and exploding(healthy) and (
                not diverging(healthy) or cliff(healthy) or norm_led(healthy)):
            # the trace shows it: norms climbed while the loss did not, both jumped in one step
            # from a healthy one (a cliff in the loss surface, not a run diverging step by step),
            # or the blow-up began with a 100x gradient under a calm loss (the loss followed)
            root_cause = "exploding_gradients"
        return Evidence(
            step=step, phase=phase, root_cause=root_cause, bad_samples=fresh, positions=tuple(positions),
            applied=applied, skippable=skippable, in_row=in_row, has_good_state=self.store.latest is not None,
            soon_after_rollback=self.counters.rollbacks > 0 and step - self._since <= 2 * self.cfg.escalate_window,
            in_window=1 + sum(1 for r in engine.trace.tail(self.cfg.escalate_window)
                              if r.nonfinite and self._since < r.step < step),
            diverging=diverging(healthy),
            clip_ready=self._threshold(engine) is not None, clipping=self.clipper.threshold is not None,
            quarantined=len(self.quarantine), quarantine_room=max(0, room - len(self.quarantine)),
            rollbacks=self.counters.rollbacks,
        )

    def act(self, engine: Any, step: int, plan: Plan, ev: Evidence, code_fix: str | None,
            target: GoodState | None = None) -> None:
        """Carry out `plan` (not `stop`, which the session handles); a rollback goes to `target`
        (default: the newest good state with a healthy future, `retention.pick`)."""
        self.counters.events += 1
        cause = ev.root_cause
        lrs = self.backoff.effective(list(engine.optimizers)) if plan.backoff else None  # before a rollback
        if plan.quarantine:
            new = self.quarantine.add(list(plan.quarantine), step, f"{cause}: non-finite {ev.phase} value")
            self.counters.quarantine_events += 1
            self.intervene(step, "quarantine", f"samples {new} excluded from every later batch ({cause})")
            self._note(step, f"quarantined {new}")
        if plan.clip:
            self.clipper.threshold, basis = self._clip_on(engine, with_backoff=plan.backoff)
            self._clip_cures = cause == "exploding_gradients"
            self.intervene(step, "clip", f"gradient clipping on: global norm <= {self.clipper.threshold:.4g} "
                                         f"({basis})")
        if plan.rollback and target is None:
            target = self._target(engine, step, self._no_progress_bound(engine) if plan.clip and self._clip_cures
                                  else None)
        state = target if plan.rollback else None
        if state is not None:
            self.store.restore(state, list(engine.optimizers))
            self.store.drop_after(state)  # newer states lie on the abandoned branch
            state.future_from = step  # its new future starts here: judged afresh if the run fails again
            self.counters.rollbacks += 1
            self._last_snapshot = step  # the next snapshot comes a full cadence later
            self._since = step
            self._ref_loss = getattr(state, "ref_loss", None)
            self.intervene(step, "rollback", f"parameters, optimizer, scheduler and scaler state restored "
                                             f"to the start of step {state.step} ({cause})")
            self._note(step, f"rolled back to step {state.step}")
            if ev.applied and step < engine.step and engine.snapshot.optimizer is not None:
                engine.hide_grads(engine.snapshot.optimizer, _params(engine.snapshot.optimizer))  # GPU: grads of bad params
        if plan.backoff:
            self._lower_step_size(engine, step, ev, lrs)
        if plan.skip:
            self.counters.skipped_steps += 1
            why = "; ".join(plan.reasons) or "non-finite step"
            self.intervene(step, "skip", f"non-finite {ev.phase} value: optimizer step skipped ({why})")
            if state is None:
                self._heal_buffers(engine, step)
        workaround = not (plan.rollback or plan.clip or ev.diverging)  # skipped or quarantined, code untouched
        if workaround and cause in CODE_BUGS and code_fix and self.code_fix is None:
            self.code_fix = code_fix
        self._note(step, "diverging" if ev.diverging else cause)

    def _lower_step_size(self, engine: Any, step: int, ev: Evidence, lrs: dict[int, list[float]] | None) -> None:
        """x`backoff ** k` at the k-th backoff; x`backoff_fast` when the run was never stable
        at this step size (diverged within `fast_within` updates, or its loss never came down)."""
        self.counters.backoffs += 1
        # healthy updates at this step size before it diverged (a rollback without a
        # backoff keeps the count: the run was stable at this step size up to the cliff)
        updates, self._at_factor = self._at_factor, 0
        at = "the start" if self.counters.backoffs == 1 else "the last backoff"
        word = "diverged" if ev.diverging or ev.root_cause in DIVERGENCE else "failed again"
        why = f"; {word} {updates} updates after {at}" if updates <= self.cfg.fast_within else ""
        # the loss never came down at this step size (it only got worse until it blew up)
        past = [r for r in alive(engine.trace.records(), self._factor_since) if r.step < step]
        if not why and not improved(past):
            why = f"; the loss never came down at this step size since {at}"
        self._factor_since = step
        times = self.cfg.backoff_fast if why else self.cfg.backoff ** self.counters.backoffs
        self.backoff.lower(times, lrs)
        lead = engine.optimizers.index(engine.lead) if engine.lead in engine.optimizers else 0
        caps = [c for c in self.backoff.ceilings.get(lead, []) if c is not None]
        cap = f"; at most {max(caps):.3g}, {times:g} x the lr it diverged at, if a schedule raises it" if caps else ""
        self.intervene(step, "lr_backoff", f"step size x{times:g}: learning rate factor now "
                                           f"{self.backoff.factor:.4g} (survives the LR scheduler{cap}){why}")

    def _heal_buffers(self, engine: Any, step: int) -> None:
        """The skipped step's forward ran: put back the buffers it made non-finite (`recover/buffers.py`)."""
        detail = heal_buffers([*self.roots, *(c.module for c in engine.snapshot.root_calls)], self.store.latest)
        if detail:
            self.intervene(step, "restore_buffers", detail)

    def _target(self, engine: Any, step: int | None = None, no_worse_than: float | None = None) -> GoodState | None:
        return pick(self.store.states, engine.trace.records(), engine.step if step is None else step,
                    no_worse_than)

    def _no_progress_bound(self, engine: Any) -> float | None:
        """The run's typical loss now (median of its last RECENT healthy losses): clipping
        turned on against exploding gradients goes back to the oldest state no worse than
        this, since the unclipped steps after it bought nothing (the held-out IRNN took a
        norm-9722 step at step 4 and never learned after it: 1.84x back to step 32, 0.27x
        back to step 0)."""
        losses = [r.loss for r in alive(engine.trace.records(), self._since)][-RECENT:]
        return statistics.median(losses) if len(losses) >= 5 else None

    def _healthy_norms(self, engine: Any) -> list[float | None]:
        """The gradient norms of the healthy steps (before the norms started climbing, when they did)."""
        recs = [r for r in engine.trace.records() if not r.skipped and not r.nonfinite]
        norms = [r.grad_norm for r in recs]
        return norms[: max(3, len(norms) // 4)] if exploding(recs) else norms

    def _threshold(self, engine: Any) -> float | None:
        cfg = self.cfg
        return threshold_from(self._healthy_norms(engine), cfg.clip_multiplier, cfg.clip_max_norm, cfg.clip_band)

    def _clip_on(self, engine: Any, with_backoff: bool) -> tuple[float, str]:
        """The threshold clipping starts at, and how it was chosen (for the intervention line).

        With a step-size backoff at the same time (a finite climb, a divergence) the backoff
        is the cure of a too-large step and the clip only guards against spikes: a max_norm
        below the healthy steps' median would shrink nearly every update as well, a second
        backoff on top of the first (heldout22's matrix factorisation with a summed loss,
        norms ~150: clipped at 14.7 on 994 of 1000 steps, 9.8x the hand fix; at the median
        1.01x). So it is raised to that median."""
        threshold = self._threshold(engine)
        median = threshold_from(self._healthy_norms(engine), 1.0)
        if with_backoff and self.cfg.clip_max_norm is not None and median is not None and threshold < median:
            return median, ("the healthy steps' median norm: the step size is lowered too, so the clip "
                            "only cuts spikes, not every step")
        return threshold, self._threshold_basis(threshold, median)

    def _threshold_basis(self, t: float | None, median: float | None) -> str:
        """How the threshold `t` was chosen from the healthy steps' `median` norm, for the intervention line."""
        cfg = self.cfg
        if cfg.clip_max_norm is None or median is None:
            return f"{cfg.clip_multiplier:g} x the median norm of healthy steps"
        usual = f"the usual max_norm {cfg.clip_max_norm:g}"
        if t is None or t == cfg.clip_max_norm:
            return f"{usual}; the healthy steps' median norm is {median:.4g}"
        if t > cfg.clip_max_norm:
            return f"{usual} raised to the healthy steps' median norm {median:.4g} / {cfg.clip_band:g}"
        return f"{usual} lowered to {cfg.clip_band:g} x the healthy steps' median norm {median:.4g}"

    # ---- trace notes ------------------------------------------------------------------
    def _note(self, step: int, text: str) -> None:
        self._notes.setdefault(step, []).append(text)

    def _flush_notes(self, engine: Any) -> None:
        last = engine.trace.last()
        if last is None or last.step not in self._notes:
            return
        notes = self._notes.pop(last.step)
        engine.trace.replace_last(note="; ".join(([last.note] if last.note else []) + notes))
        self._notes = {s: n for s, n in self._notes.items() if s > last.step}

    # ---- state and summary ---------------------------------------------------------------
    def state(self) -> RecoveryState:
        self.counters.clipped_steps = max(self.counters.clipped_steps, self.clipper.clipped_steps)
        return RecoveryState(quarantine=self.quarantine.to_dict(), clip_threshold=self.clipper.threshold,
                             clip_cures=self._clip_cures, lr_factor=self.backoff.factor,
                             lr_ceilings=dict(self.backoff.ceilings), counters=self.counters)

    def load_state(self, st: RecoveryState) -> None:
        self.quarantine.load_dict(st.quarantine)
        self.clipper.threshold = st.clip_threshold
        self._clip_cures = st.clip_cures and st.clip_threshold is not None
        self.backoff.factor = st.lr_factor
        self.backoff.ceilings = dict(st.lr_ceilings)
        self.counters = st.counters

    def summary(self) -> dict[str, Any]:
        """The report's `recovery` block."""
        store = self.store
        return {
            "skipped_steps": self.counters.skipped_steps,
            "quarantined": self.quarantine.indices,
            "clip_threshold": self.clipper.threshold,
            "clipped_steps": self.counters.clipped_steps,
            "lr_factor": self.backoff.factor,
            "rollbacks": self.counters.rollbacks,
            "snapshots": {"taken": self.counters.snapshots, "kept": len(store.states),
                          "bytes": store.nbytes, "seconds": round(store.seconds, 4),
                          "every": self._every, "auto": self.cfg.snapshot_every is None},
            "code_fix": self.code_fix,
        }


def _has_fp16(engine: Any) -> bool:
    if engine.autocast_dtype == "float16" or engine.grad_scaler:
        return True
    return any(p.dtype == torch.float16 for o in engine.optimizers for g in o.param_groups for p in g["params"][:4])


def _params(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for g in opt.param_groups for p in g["params"]]
