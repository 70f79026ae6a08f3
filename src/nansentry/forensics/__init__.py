"""Forensics on the failing step only: where exactly the first non-finite value came from.

Entry point: `investigate(engine, step, phase, detail) -> Finding`. Healthy steps never
reach this package.
"""

from nansentry.forensics.investigate import investigate

__all__ = ["investigate"]
