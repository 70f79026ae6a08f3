"""Zoo scenarios end to end: `nansentry run --recover auto` finishes within 1.5x of the clean run."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _zoo_table import ROOT, row  # noqa: E402

FAST = ["dirty_data_mlp_nan_features", "exploding_gradients_irnn_heading_curriculum"]


@pytest.mark.parametrize("name", FAST)
def test_recoverable_scenario_finishes_close_to_clean(name):
    path = ROOT / "tests" / "scenarios" / f"{name}.py"
    if not path.exists():
        pytest.skip(f"{name} not in the zoo")
    r = row(path, "zoo")
    assert r["rc_clean"] == 0 and r["rc"] == 0, r
    assert math.isfinite(r["ratio"]) and r["ratio"] <= 1.5, r
    assert r["actions"], "the run met non-finite values, so the guard must have intervened"
