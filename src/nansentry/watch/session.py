"""One guarded run: the engine, its hooks, and what happens at a non-finite value.

Flow (one way): engine (hooks, probes) -> forensics on the failing step -> rules ->
report files and the terminal block -> stop, or skip under a recovery policy.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import torch

from nansentry.errors import NonFiniteError
from nansentry.forensics import investigate
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

    def start(self) -> "Session":
        self.installation.install()
        return self

    # ---- events -----------------------------------------------------------------
    def _on_event(self, engine: Engine, step: int, phase: str, detail: Any) -> bool:
        """Called at each non-finite step; True means skip this optimizer step."""
        if self.finding is None:
            self.finding = investigate(engine, step, phase, detail)
            self.diagnosis = outcome.diagnose(engine, self.finding, self.options)
        self._skips_in_row = self._skips_in_row + 1 if step <= self._last_event_step + 1 else 1
        self._last_event_step = step
        can_skip = self.options.recover in ("skip", "auto") and phase != "optimizer" and detail is not None
        if can_skip and self._skips_in_row <= self.options.max_skips_in_row:
            self._intervene(step, "skip", f"non-finite {phase} value: optimizer step skipped, "
                                          "parameters and optimizer state untouched")
            return True
        if can_skip:
            self._intervene(step, "stop", f"{self._skips_in_row - 1} non-finite steps in a row: skipping no longer helps")
        elif self.options.recover != "off":
            self._intervene(step, "stop", f"non-finite {phase} value cannot be skipped (the update already happened)")
        self._stop(step)
        return False

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
        return self.report

    def _write(self) -> Report:
        report = outcome.build_report(self.engine, self.finding, self.diagnosis, self.interventions)
        outcome.write(report, self.finding, self.engine, self.options)
        return report
