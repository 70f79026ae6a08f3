"""One root exception for everything nansentry raises on purpose."""

from __future__ import annotations


class NansentryError(Exception):
    """Root of nansentry's own errors: a message says what, where, and what to do."""


class UsageError(NansentryError):
    """The user asked for something that cannot be done (bad flag, missing file)."""


class NonFiniteError(NansentryError):
    """Training produced a non-finite value and the guard stopped the run.

    Raised from inside the training loop (an optimizer hook) so that the run stops
    where it failed; `report` holds the finished report as a plain dict.
    """

    def __init__(self, message: str, report: dict | None = None) -> None:
        super().__init__(message)
        self.report = report or {}
