"""Dispatch a failing step to the right instrument for its phase.

data -> the batch's bad rows; forward/loss/backward -> exact replay under the tracer,
then the samples that alone reproduce it; optimizer -> a re-run of the update on
clones. Never raises (unless `strict`): a forensics bug must not hide the event.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from typing import Any

from nansentry.forensics.data import locate_bad_samples
from nansentry.forensics.optim import investigate_update
from nansentry.forensics.replay import replay_step
from nansentry.forensics.samples import BUDGET, BUDGET_FLOOR_S, locate_samples
from nansentry.forensics.tracer import Tracer
from nansentry.records import Finding


def investigate(engine: Any, step: int, phase: str, detail: Any) -> Finding:
    """Establish what the failing step's snapshot shows about the first non-finite value."""
    t0 = time.perf_counter()
    try:
        finding = _investigate(engine, step, phase, detail)
    except Exception as exc:  # noqa: BLE001 - the event is still reported, without forensics
        if getattr(engine.options, "strict", False):
            raise
        sys.stderr.write(f"nansentry: forensics failed: {type(exc).__name__}: {exc}\n")
        finding = Finding(step=step, phase=phase, reproduced=None,
                          notes=(f"forensics failed ({type(exc).__name__}: {exc}); phase from the step check",))
    return replace(finding, replay_seconds=time.perf_counter() - t0)


def _investigate(engine: Any, step: int, phase: str, detail: Any) -> Finding:
    snap = engine.snapshot
    if phase == "data":
        samples, positions, stats = locate_bad_samples(snap.batches)
        return Finding(step=step, phase=phase, bad_samples=tuple(samples), batch_positions=tuple(positions),
                       data_stats=tuple(stats), reproduced=True)
    if phase == "optimizer" and isinstance(detail, tuple):
        opt, bad = detail
        return investigate_update(engine, step, opt, list(bad))
    if not snap.root_calls:
        return Finding(step=step, phase=phase, reproduced=None,
                       notes=("no root forward call seen in this step: nothing to replay",))
    tracer = Tracer()
    t0 = time.perf_counter()
    before = phase if phase in ("forward", "loss") else "loss"
    rep = replay_step(engine, snap, tracer, before_phase=before)
    t_replay = time.perf_counter() - t0
    ev = tracer.first
    notes = [rep.note] if rep.note else []
    if ev is None:
        if rep.complete:
            notes.append(f"the replay of step {step} ran without a non-finite value: the failure did not "
                         "reproduce (non-determinism, state outside the step, or hardware); op not identified")
            return Finding(step=step, phase=phase, reproduced=False, notes=tuple(notes))
        return Finding(step=step, phase=phase, reproduced=None, notes=tuple(notes))
    if rep.before_model:
        notes.append("the training loop made it from the finite batch before the model ran (its own code, "
                     "not a module or the loss)")
    elif ev.phase != phase:
        notes.append(f"the step check saw the first non-finite value in {phase}; the replay found "
                     f"it was produced earlier, in {ev.phase}")
    samples, positions, note = locate_samples(engine, snap, ev.op, ev.phase, budget_s=max(BUDGET * t_replay, BUDGET_FLOOR_S))
    if note:
        notes.append(note)
    return Finding(step=step, phase=ev.phase, op=ev, reproduced=True, bad_samples=tuple(samples),
                   batch_positions=tuple(positions), notes=tuple(notes))
