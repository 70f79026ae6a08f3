"""Numbers and places written the way a person reads them in one glance."""

from __future__ import annotations

import math
import os
from typing import Iterable

from nansentry.records import OpEvidence, TensorStats


def num(x: float | None, digits: int = 2) -> str:
    """`4.1`, `0.003`, `1.2e5`, `nan`: short, with a plain exponent."""
    if x is None:
        return "?"
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    a = abs(x)
    if 1e-3 <= a < 1e4:
        s = f"{x:.{digits + 1}g}"
        return s
    m, e = f"{x:.{max(digits - 1, 0)}e}".split("e")
    m = m.rstrip("0").rstrip(".") if "." in m else m
    return f"{m}e{int(e)}"


def fold(items: Iterable[object], limit: int = 6) -> str:
    """`137, 555, … (+40 more)`: a long list cut to its first `limit` items."""
    xs = [str(i) for i in items]
    if len(xs) <= limit:
        return ", ".join(xs)
    return ", ".join(xs[:limit]) + f", … (+{len(xs) - limit} more)"


def place(op: OpEvidence | None) -> str:
    """`train.py:12`, or the module, or `the failing op` when nothing is known."""
    if op is None:
        return "the failing op"
    if op.file and op.line:
        return f"{os.path.basename(op.file)}:{op.line}"
    if op.module:
        return f"module `{op.module}`"
    return f"`{op.op}`"


def code_of(op: OpEvidence | None) -> str | None:
    """The user's source line, stripped, or None."""
    if op is None or not op.code:
        return None
    c = op.code.strip()
    return c or None


def stats_line(s: TensorStats) -> str:
    """`640 values: 37 exact zeros, min 0, max 0.99` — the counts that matter first."""
    parts: list[str] = []
    for n, what in ((s.n_nan, "NaN"), (s.n_posinf, "+inf"), (s.n_neginf, "-inf"), (s.n_zero, "exact zero"),
                    (s.n_negative, "negative"), (s.n_one, "value at ±1"), (s.n_beyond, "value beyond float16's 65504")):
        if n:
            parts.append(f"{n} {_plural(what, n)}")
    rng = f"min {num(s.min)}, max {num(s.max)}" if s.min is not None and s.max is not None else ""
    if rng:
        parts.append(rng)
    head = f"{s.numel} values" if s.numel else "values"
    label = f"{s.name} " if s.name and s.name not in ("input", "output", "other") else ""
    return f"{label}({head}: {', '.join(parts) if parts else 'all finite'})"


def _plural(what: str, n: int) -> str:
    """`1 exact zero`, `37 exact zeros`, `2 values at ±1` (NaN and inf stay as they are)."""
    if n == 1 or what in ("NaN", "+inf", "-inf"):
        return what
    head, _, rest = what.partition(" ")
    if what.startswith("value"):
        return "values" + what[len("value"):]
    return what + "s" if not rest else f"{head} {rest}s" if head == "exact" else what + "s"
