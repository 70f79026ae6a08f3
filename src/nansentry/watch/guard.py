"""The Python API: guard an existing PyTorch loop with one or two added lines.

    guard = nansentry.Guard(model, optimizer, report="runs/nan")   # before the loop
    for x, y in loader:                                             # loop unchanged
        ...
    guard.close()                                                   # or `with Guard(...):`
"""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import Any, Sequence

import torch

from nansentry.recover.config import RecoveryConfig
from nansentry.recover.state import RecoveryState
from nansentry.records import Report
from nansentry.watch.options import Options
from nansentry.watch.session import Session


class Guard:
    """Watch every optimizer step of a PyTorch loop for non-finite values.

    Checks, at one host sync per optimizer step: the loss, the gradients before the
    update (so a skipped step leaves parameters and optimizer state untouched), the
    parameters after it, and every floating-point batch out of a DataLoader. At the
    first non-finite value it replays the failing step, diagnoses it, writes the
    report and raises `nansentry.NonFiniteError` (`recover="off"`), or skips the
    step (`recover="skip"`). A healthy run is numerically untouched.

    Args:
        model: the model whose forward is watched; None watches every root module.
        optimizer: one optimizer or a list (GANs, multi-optimizer setups); None
            watches every optimizer in the process.
        report: directory for the full report (JSON, trace, HTML).
        json: path of the JSON report alone.
        recover: "off", "skip" or "auto" (the recovery ladder, see docs/recovery.md).
        quarantine: a quarantine list (JSON) from an earlier run: those dataset indices
            are excluded from every batch, in any recover mode.
        snapshot_every, snapshot_keep, snapshot_max_mb: good states kept for rollback
            under recover="auto" (CPU copies; None: as often as 2% of training time
            allows; cost in docs/recovery.md).
        clip_max_norm: under recover="auto", the gradient-clip threshold to start from
            when clipping is turned on (kept within 10x of the run's median healthy
            gradient norm); None: that median itself.

    The guard's own recovery state (quarantine, clip threshold, LR factor, counters)
    goes into the user's checkpoint with `state_dict()` / `load_state_dict()`.
    """

    def __init__(
        self,
        model: torch.nn.Module | None = None,
        optimizer: torch.optim.Optimizer | Sequence[torch.optim.Optimizer] | None = None,
        *,
        report: str | Path | None = None,
        json: str | Path | None = None,
        recover: str = "off",
        strict: bool = False,
        max_skips_in_row: int = 20,
        quarantine: str | Path | None = None,
        snapshot_every: int | None = None,
        snapshot_keep: int = 5,
        snapshot_max_mb: float | None = None,
        clip_max_norm: float | None = 1.0,
    ) -> None:
        if isinstance(optimizer, torch.optim.Optimizer):
            optimizers: list[torch.optim.Optimizer] | None = [optimizer]
        else:
            optimizers = list(optimizer) if optimizer is not None else None
        options = Options(
            report_dir=Path(report) if report else None,
            json_path=Path(json) if json else None,
            recover=recover,
            strict=strict,
            max_skips_in_row=max_skips_in_row,
            recovery=RecoveryConfig(snapshot_every=snapshot_every, snapshot_keep=snapshot_keep,
                                    snapshot_max_mb=snapshot_max_mb, clip_max_norm=clip_max_norm,
                                    quarantine_file=Path(quarantine) if quarantine else None),
        )
        self._session = Session(options, model, optimizers).start()
        atexit.register(self._atexit)

    def close(self) -> Report:
        """Stop watching, write the report, return it."""
        return self._session.close()

    @property
    def report(self) -> dict[str, Any] | None:
        """The JSON report as a dict, once the run was closed or stopped."""
        r = self._session.report
        return r.to_dict() if r is not None else None

    @property
    def step(self) -> int:
        """Optimizer steps seen so far."""
        return self._session.engine.step

    def state_dict(self) -> dict[str, Any]:
        """The guard's own state, to save with the model's checkpoint (plain, picklable)."""
        return self._session.recovery_state().to_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore quarantine list, clip threshold, LR factor and counters from `state_dict()`."""
        self._session.load_recovery_state(RecoveryState.from_dict(state))

    def __enter__(self) -> "Guard":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._session.close(crashed=exc_type is not None)

    def _atexit(self) -> None:
        if not self._session._closed:
            self._session.close()
