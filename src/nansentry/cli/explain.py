"""`nansentry explain CODE`: what a lint check (NS1xx) or diagnosis rule (NS2xx) means.

Accepts a code, a kebab-case name or a root-cause word. The lint catalog is
optional (imported lazily) so the diagnosis pages work on their own.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, Callable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explain", help="explain a lint or diagnosis code (what, why NaN, example, fix)",
                       description="Print what a rule detects, why it yields NaN, an example and the fix.")
    p.add_argument("code", metavar="CODE", help="NS1xx / NS2xx, a kebab-case name, or a root cause like log_of_zero")
    p.set_defaults(func=run)


def _catalogs() -> list[tuple[Callable[[str], Any], Callable[[], list[str]]]]:
    """(find, known codes) for each catalog that is importable, lint first."""
    out = []
    for mod_name in ("nansentry.lint.catalog", "nansentry.diagnose.catalog"):
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        find = getattr(mod, "find", None)
        if find is None:
            continue
        out.append((find, lambda m=mod: _codes_of(m)))
    return out


def _codes_of(mod: Any) -> list[str]:
    for attr in ("all_rules", "all_checks"):
        f = getattr(mod, attr, None)
        if callable(f):
            try:
                return [f"{r.code} {r.name}" for r in f()]
            except Exception:  # a catalog's listing must not break the error message
                pass
    for attr in ("codes", "all_codes"):
        f = getattr(mod, attr, None)
        if callable(f):
            try:
                return [str(c) for c in f()]
            except Exception:
                pass
    for attr in ("RULES", "CHECKS"):
        seq = getattr(mod, attr, None)
        if seq is not None:
            return [f"{getattr(r, 'code', r)} {getattr(r, 'name', '')}".strip() for r in seq]
    return []


def _text(entry: Any) -> str:
    ex = getattr(entry, "explain", None)
    if callable(ex):
        return str(ex())
    return str(ex if ex is not None else entry)


def run(args: argparse.Namespace) -> int:
    cats = _catalogs()
    for find, _ in cats:
        try:
            hit = find(args.code)
        except Exception:
            hit = None
        if hit is not None:
            text = _text(hit)
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            return 0
    known: list[str] = []
    for _, codes in cats:
        known += codes()
    sys.stderr.write(f"nansentry explain: unknown code {args.code!r}. Known codes:\n")
    for c in known:
        sys.stderr.write(f"  {c}\n")
    return 2
