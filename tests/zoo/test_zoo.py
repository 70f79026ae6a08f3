"""The scenario zoo through `nansentry run`: cause, step, phase, op, line and samples.

Every script in tests/scenarios/ is a small real training script with no nansentry
import; its header says what went wrong and its `# EXPECT-NAN` comment marks the line.
They all run once (two at a time), then each expectation is a test of its own.
Scripts we know we get wrong are listed in KNOWN_MISSES with the reason (strict xfail:
fixing one makes its test fail until it is removed from the list).
"""

from __future__ import annotations

import pytest

from tests.zoo.run_zoo import Outcome, _zoo, run_all

SCENARIOS = [s.path.stem for s in _zoo.load_all()]
FIELDS = ("cause", "step", "phase", "op", "line", "samples")

# (scenario, field) -> why we miss it
KNOWN_MISSES: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    return {o.name: o for o in run_all(jobs=2)}


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(outcomes, name, request):
    o = outcomes[name]
    checks = o.checks()
    if o.meta["cause"] == "healthy":
        assert checks["cause"], f"false alarm on a healthy run:\n{o.stderr[-2000:]}"
        return
    assert o.status == 1 and o.report.get("status") == "nonfinite", o.stderr[-2000:]
    wrong = []
    for field in FIELDS:
        ok = checks.get(field)
        if ok is False and (name, field) not in KNOWN_MISSES:
            wrong.append(field)
    expected_misses = [f for f in FIELDS if (name, f) in KNOWN_MISSES]
    if expected_misses and all(checks.get(f) is False for f in expected_misses) and not wrong:
        pytest.xfail("; ".join(KNOWN_MISSES[(name, f)] for f in expected_misses))
    assert not expected_misses or all(checks.get(f) is False for f in expected_misses), \
        f"{name}: now right on {expected_misses}: remove it from KNOWN_MISSES"
    fn = o.report.get("first_nonfinite") or {}
    assert not wrong, (f"{name}: wrong {wrong}: expected {o.meta} line {o.expect_line}, got "
                       f"cause={o.cause} {fn} samples={o.report.get('bad_samples')}")


def test_cause_accuracy(outcomes):
    """Root cause right on >= 90% of broken scripts, held-out ones counted apart."""
    broken = [o for o in outcomes.values() if o.meta["cause"] != "healthy"]
    tuned = [o for o in broken if not o.meta.get("heldout")]
    held = [o for o in broken if o.meta.get("heldout")]
    acc_tuned = sum(o.checks()["cause"] for o in tuned) / len(tuned)
    acc_held = sum(o.checks()["cause"] for o in held) / len(held)
    print(f"cause accuracy: tuned-on {acc_tuned:.0%} of {len(tuned)}, held-out {acc_held:.0%} of {len(held)}")
    assert acc_tuned >= 0.9
    assert acc_held >= 0.8
