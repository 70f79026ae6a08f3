"""What the user chose: report paths, recovery policy, strictness."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nansentry.recover.config import RecoveryConfig

RECOVER_MODES = ("off", "skip", "auto")


@dataclass(frozen=True)
class Options:
    """Settings of one guarded run.

    `max_skips_in_row` bounds `--recover skip`: that many non-finite steps in a row
    stop the run with a diagnosis, since skipping forever would hide a broken run.
    `strict` re-raises the guard's own internal errors instead of stepping aside.
    """

    report_dir: Path | None = None
    json_path: Path | None = None
    recover: str = "off"
    max_skips_in_row: int = 20
    trace_capacity: int = 4096
    strict: bool = False
    check_data: bool = True
    exit_on_nonfinite: bool = False  # zero-code mode: SystemExit(1) after the report
    script: str | None = None
    color: bool | None = None  # None: decide from the terminal
    recovery: RecoveryConfig = field(default_factory=RecoveryConfig)  # --recover auto's budgets, quarantine file

    def __post_init__(self) -> None:
        if self.recover not in RECOVER_MODES:
            raise ValueError(f"recover={self.recover!r}: choose one of {', '.join(RECOVER_MODES)}")
