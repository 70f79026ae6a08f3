"""Look a diagnosis rule up by code (`NS201`), name (`log-of-zero`) or cause (`log_of_zero`)."""

from __future__ import annotations

from nansentry.diagnose.rule import Rule
from nansentry.diagnose.rules import RULES


def find(code_or_name: str) -> Rule | None:
    """The rule for a code, kebab name or root-cause word (case-insensitive), else None."""
    key = code_or_name.strip().lower()
    for r in RULES:
        if key in (r.code.lower(), r.name, r.cause, r.cause.replace("_", "-")):
            return r
    return None


def all_rules() -> tuple[Rule, ...]:
    """Every rule, in code order."""
    return RULES


def codes() -> tuple[str, ...]:
    return tuple(r.code for r in RULES)
