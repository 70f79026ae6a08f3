"""nansentry: catch, localise, explain and recover from NaN/Inf in training.

    import nansentry
    guard = nansentry.Guard(model, optimizer, report="runs/nan")
"""

from __future__ import annotations

from typing import Any

from nansentry.errors import NansentryError, NonFiniteError, UsageError

__version__ = "0.1.0"
__all__ = ["Guard", "NansentryError", "NonFiniteError", "UsageError", "__version__"]


def __getattr__(name: str) -> Any:
    # Guard needs torch; records, rules, reports and the CLI must import without it.
    if name == "Guard":
        from nansentry.watch.guard import Guard

        return Guard
    raise AttributeError(f"module 'nansentry' has no attribute {name!r}")
