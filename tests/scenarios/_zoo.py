"""Read the scenario zoo's headers (no torch import; used by the tests, _verify and _table)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = "# nansentry-scenario: "
MARKER = "# EXPECT-NAN"

CAUSES = (
    "dirty_data", "unscaled_data", "log_of_zero", "invalid_domain", "division_by_zero",
    "singular_gradient", "exp_overflow", "fp16_overflow", "exploding_gradients",
    "learning_rate_too_high", "bad_initialization",
)
PHASES = ("data", "forward", "loss", "backward", "optimizer")
KEYS = {"cause", "phase", "op", "module", "samples", "recoverable", "heldout", "step"}


def steps(meta: dict) -> list[int] | None:
    """The steps the first non-finite value may land on: one, or a list where float rounding
    differs between CPUs (BLAS kernels) and an exploding run overflows a step earlier or later."""
    step = meta.get("step")
    return None if step is None else (list(step) if isinstance(step, list) else [step])


@dataclass(frozen=True)
class Scenario:
    path: Path
    meta: dict
    expect_line: int | None  # 1-based line carrying "# EXPECT-NAN"
    marker_count: int


def parse(path: Path) -> Scenario:
    text = path.read_text(encoding="utf-8")
    meta = None
    for line in text.splitlines():
        if line.startswith(HEADER):
            meta = json.loads(line[len(HEADER):])
            break
    if meta is None:
        raise ValueError(f"{path.name}: no '{HEADER.strip()}' line")
    marks = [i for i, line in enumerate(text.splitlines(), 1) if line.rstrip().endswith(MARKER)]
    return Scenario(path, meta, marks[0] if len(marks) == 1 else None, len(marks))


def scenario_paths() -> list[Path]:
    return sorted(p for p in HERE.glob("*.py") if not p.name.startswith(("_", "test_")))


def load_all() -> list[Scenario]:
    return [parse(p) for p in scenario_paths()]
