"""One guarded run: the engine, its hooks, and what happens at a non-finite value.

Flow (one way): engine (hooks, probes) -> forensics on the failing step -> rules ->
report files and the terminal block -> stop, or skip under a recovery policy.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import torch

from nansentry.errors import NonFiniteError
from nansentry.forensics import investigate
from nansentry.recover.buffers import heal_buffers
from nansentry.recover.quarantine import Quarantine, quarantine_path
from nansentry.recover.state import RecoveryState
from nansentry.records import Finding, Intervention, Report
from nansentry.watch import outcome
from nansentry.watch.engine import Engine
from nansentry.watch.install import Installation
from nansentry.watch.options import Options


class Session:
    """Installs the watcher, reacts to events, writes the report at the end."""

    def __init__(self, options: Options, model: torch.nn.Module | None = None,
                 optimizers: list[torch.optim.Optimizer] | None = None) -> None:
        self.options = options
        self.engine = Engine(options, self._on_event)
        self.installation = Installation(self.engine, model, optimizers)
        self.finding: Finding | None = None
        self.diagnosis: Any = None
        self.interventions: list[Intervention] = []
        self.report: Report | None = None
        self._skips_in_row = 0
        self._last_event_step = -2
        self._t0 = time.perf_counter()
        self._closed = False
        self.quarantine = Quarantine()
        self.recovery: Any = None  # recover.auto.AutoRecovery under --recover auto
        if options.recover == "auto":
            from nansentry.recover.auto import AutoRecovery

            self.recovery = AutoRecovery(options.recovery, self.quarantine, self._intervene)
            self.engine.recovery = self.recovery
        self._investigations = 0
        self._last_diagnosis: Any = None

    def start(self) -> "Session":
        self.installation.install()
        self._start_recovery()
        return self

    def _start_recovery(self) -> None:
        """Quarantine filter (auto, or a list the user gave) and the scheduler/scaler registry."""
        from nansentry.watch.loader import add_index_filter

        qfile = self.options.recovery.quarantine_file
        if qfile is not None:
            self.quarantine.load(qfile)
            sys.stderr.write(f"nansentry: {len(self.quarantine)} quarantined samples loaded from {qfile}: "
                             "excluded from every batch\n")
        if self.recovery is not None or qfile is not None:
            self.installation._undo.append(add_index_filter(self.quarantine.loader_filter))
        if self.recovery is not None:
            self.installation._undo.append(self.recovery.store.registry.install())

    @property
    def recovered(self) -> bool:
        """The run met non-finite values, recovery kept it going, and it was not stopped."""
        return self.options.recover == "auto" and not self.engine.stopped

    # ---- events -----------------------------------------------------------------
    def _on_event(self, engine: Engine, step: int, phase: str, detail: Any) -> bool:
        """Called at each non-finite step; True means skip this optimizer step."""
        if self.finding is None:
            self.finding = investigate(engine, step, phase, detail)
            self.diagnosis = outcome.diagnose(engine, self.finding, self.options)
        self._skips_in_row = self._skips_in_row + 1 if step <= self._last_event_step + 1 else 1
        self._last_event_step = step
        if self.recovery is not None:
            return self._on_event_auto(engine, step, phase, detail)
        can_skip = self.options.recover in ("skip", "auto") and phase != "optimizer" and detail is not None
        if can_skip and self._skips_in_row <= self.options.max_skips_in_row:
            self._intervene(step, "skip", f"non-finite {phase} value: optimizer step skipped, "
                                          "parameters and optimizer state untouched")
            detail = heal_buffers(c.module for c in engine.snapshot.root_calls)
            if detail:
                self._intervene(step, "restore_buffers", detail)
            return True
        if can_skip:
            self._intervene(step, "stop", f"{self._skips_in_row - 1} non-finite steps in a row: skipping no longer helps")
        elif self.options.recover != "off":
            self._intervene(step, "stop", f"non-finite {phase} value cannot be skipped (the update already happened)")
        self._stop(step)
        return False

    def _on_event_auto(self, engine: Engine, step: int, phase: str, detail: Any) -> bool:
        """`--recover auto`: evidence of this step -> the ladder's plan -> carried out."""
        from nansentry.recover.ladder import decide

        rec = self.recovery
        finding, diagnosis = self._evidence_of(engine, step, phase, detail)
        cause = diagnosis.root_cause if diagnosis is not None else "unknown"
        applied = phase == "optimizer"  # the update already wrote the non-finite parameters
        ev = rec.evidence(engine, step, phase, cause, list(finding.bad_samples), applied,
                          skippable=detail is not None and not applied, in_row=self._skips_in_row,
                          positions=tuple(finding.batch_positions))
        plan = decide(ev, rec.cfg)
        if plan.stop is None and self._skips_in_row > self.options.max_skips_in_row:
            plan = type(plan)(stop=f"{self._skips_in_row} non-finite steps in a row: recovery no longer helps")
        if plan.stop is not None:
            self._intervene(step, "stop", f"{plan.stop} ({cause})")
            self._stop(step)
        rec.act(engine, step, plan, ev, _code_fix(diagnosis))
        if plan.quarantine:
            self._save_quarantine()
        if applied and step == engine.step and isinstance(detail, tuple):
            # CPU: the engine returns from its post-hook after an optimizer-phase event;
            # the update is over, so close the step here as its post-hook would have
            rec.after_update(engine, detail[0], False)
            if detail[0] is engine.lead:
                engine.next_step()
        return plan.skip

    def _evidence_of(self, engine: Engine, step: int, phase: str, detail: Any) -> tuple[Finding, Any]:
        """Forensics and diagnosis of this event (bounded: a NaN storm reuses the last one)."""
        if self.finding is not None and step == self.finding.step:
            self._last_diagnosis = self.diagnosis
            return self.finding, self.diagnosis
        if self._investigations >= self.options.recovery.max_investigations:
            bad: list[int] = []
            if phase == "data":
                from nansentry.forensics.data import locate_bad_samples

                bad = locate_bad_samples(engine.snapshot.batches)[0]
            return Finding(step=step, phase=phase, bad_samples=tuple(bad)), self._last_diagnosis
        self._investigations += 1
        finding = investigate(engine, step, phase, detail)
        self._last_diagnosis = outcome.diagnose(engine, finding, self.options)
        return finding, self._last_diagnosis

    def _save_quarantine(self) -> Path | None:
        path = quarantine_path(self.options.report_dir, self.options.json_path)
        if path is None or not len(self.quarantine):
            return None
        try:
            self.quarantine.save(path)
        except OSError as exc:
            sys.stderr.write(f"nansentry: could not write the quarantine list {path}: {exc}\n")
            return None
        return path

    def recovery_state(self) -> RecoveryState:
        """The guard's own state (quarantine, clip threshold, LR factor, counters)."""
        if self.recovery is not None:
            return self.recovery.state()
        return RecoveryState(quarantine=self.quarantine.to_dict())

    def load_recovery_state(self, st: RecoveryState) -> None:
        if self.recovery is not None:
            self.recovery.load_state(st)
        else:
            self.quarantine.load_dict(st.quarantine)

    def _intervene(self, step: int, action: str, detail: str) -> None:
        self.interventions.append(Intervention(step=step, action=action, detail=detail))
        sys.stderr.write(f"nansentry: step {step}: {action}: {detail}\n")

    def _stop(self, step: int) -> None:
        engine = self.engine
        engine.stopped = True
        self.report = self._write()
        self._closed = True
        self.installation.remove()
        outcome.print_block(self.report, self.finding, self.options)
        if self.recovery is not None:
            sys.stderr.write(_recovery_lines(self.report.extra.get("recovery", {})))
        raise NonFiniteError(outcome.one_line(self.report), self.report.to_dict())

    # ---- the end ----------------------------------------------------------------
    def close(self, crashed: bool = False) -> Report:
        """Finish: last checks, remove hooks, write the report, print the summary."""
        if self._closed and self.report is not None:
            return self.report
        self._closed = True
        try:
            self.engine.finish()
        except NonFiniteError:
            return self.report  # type: ignore[return-value]
        finally:
            self.installation.remove()
        self.report = self._write()
        if not crashed:
            outcome.print_summary(self.report, self.finding, self.options, time.perf_counter() - self._t0)
            if self.recovery is not None and self.interventions:
                sys.stderr.write(_recovery_lines(self.report.extra.get("recovery", {})))
        return self.report

    def _write(self) -> Report:
        report = outcome.build_report(self.engine, self.finding, self.diagnosis, self.interventions)
        if self.installation.failure is not None:  # what follows that step was not watched
            report.extra["guard_error"] = self.installation.failure
        if self.recovery is not None:
            report.extra["recovery"] = {**self.recovery.summary(), "recovered": self.recovered,
                                        "quarantine_file": _str(self._save_quarantine())}
        outcome.write(report, self.finding, self.engine, self.options)
        return report


def _code_fix(diagnosis: Any) -> str | None:
    if diagnosis is None or not diagnosis.fixes:
        return None
    f = diagnosis.fixes[0]
    return f"{f.action}: {f.detail}" if f.detail else f.action


def _str(p: Path | None) -> str | None:
    return None if p is None else str(p)


def _recovery_lines(r: dict[str, Any]) -> str:
    """The final summary of what recovery did, for stderr."""
    if not r:
        return ""
    head = "recovered, the run finished" if r.get("recovered") else "recovery stopped"
    parts = [_count(r["skipped_steps"], "step") + " skipped"]
    if r.get("quarantined"):
        where = f" (list in {r['quarantine_file']})" if r.get("quarantine_file") else ""
        parts.append(f"quarantined samples {r['quarantined']}{where}")
    if r.get("clip_threshold") is not None:
        parts.append(f"gradient norm clipped at {r['clip_threshold']:.4g} ({r['clipped_steps']} steps)")
    if r.get("rollbacks"):
        parts.append(_count(r["rollbacks"], "rollback"))
    if r.get("lr_factor", 1.0) != 1.0:
        parts.append(f"learning rate x{r['lr_factor']:.4g}")
    text = f"nansentry: {head}: " + ", ".join(parts) + "\n"
    if r.get("code_fix"):
        how = "quarantine and skipping kept the run alive but are" if r.get("quarantined") else \
            "skipping kept the run alive but is"
        text += f"nansentry: {how} not a fix: the code still fails; fix it: {r['code_fix']}\n"
    return text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
