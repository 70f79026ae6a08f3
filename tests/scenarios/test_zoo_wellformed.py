"""The scenario zoo is well formed: headers parse, values are legal, coverage holds.

Fast: no training runs (that is _verify.py's job, and the lead's nansentry test).
"""
from __future__ import annotations

import ast
import collections
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _zoo import CAUSES, KEYS, PHASES, load_all, scenario_paths, steps  # noqa: E402

SCENARIOS = load_all()
IDS = [s.path.stem for s in SCENARIOS]
# the causes that run-time recovery must fix (issue 5); plus degenerate samples hitting an unsafe op
RECOVERABLE = {"dirty_data", "exploding_gradients", "learning_rate_too_high"}


def test_zoo_is_not_empty():
    assert len(SCENARIOS) == len(scenario_paths()) >= 40


@pytest.mark.parametrize("sc", SCENARIOS, ids=IDS)
def test_header_keys_and_values(sc):
    m = sc.meta
    assert set(m) == KEYS
    assert m["cause"] in CAUSES + ("healthy",)
    assert isinstance(m["heldout"], bool) and isinstance(m["recoverable"], bool)
    assert isinstance(m["samples"], list) and m["samples"] == sorted(set(m["samples"]))
    assert all(isinstance(i, int) and i >= 0 for i in m["samples"])
    if m["cause"] == "healthy":
        assert m["phase"] is None and m["op"] is None and m["step"] is None
        assert m["module"] is None and m["samples"] == [] and not m["recoverable"]
        return
    assert m["phase"] in PHASES
    ok = steps(m)
    assert ok and all(isinstance(s, int) and s >= 0 for s in ok) and ok == sorted(set(ok))
    if m["phase"] == "data":
        assert m["op"] is None and m["module"] is None and m["samples"]
    else:
        ops = m["op"] if isinstance(m["op"], list) else [m["op"]]
        assert ops and all(re.fullmatch(r"[a-z_][a-z0-9_]*", o) and not o.endswith("_") or o == "_softmax"
                           for o in ops), ops
    if m["phase"] in ("loss", "optimizer"):
        assert m["module"] is None
    if m["phase"] == "forward":
        assert isinstance(m["module"], str)
    if m["cause"] in RECOVERABLE or (m["samples"] and m["phase"] != "data"):
        assert m["recoverable"]


@pytest.mark.parametrize("sc", SCENARIOS, ids=IDS)
def test_expect_nan_marker(sc):
    if sc.meta["cause"] == "healthy" or sc.meta["phase"] == "data":
        assert sc.marker_count == 0
    else:
        assert sc.marker_count == 1 and sc.expect_line is not None


@pytest.mark.parametrize("sc", SCENARIOS, ids=IDS)
def test_script_shape(sc):
    text = sc.path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    doc = ast.get_docstring(tree)
    assert doc and len(doc) > 80, "docstring telling the story"
    lines = text.splitlines()
    end = tree.body[0].end_lineno  # the header follows the docstring
    assert lines[end].startswith("# nansentry-scenario: ")
    assert "torch.manual_seed(" in text
    assert "final_loss=" in text and ".backward()" in text
    assert "nansentry" not in text.replace("# nansentry-scenario:", "")
    assert not re.search(r"\b(urllib|requests|download=True|\.cuda\(|device=.cuda)", text)
    if sc.meta["recoverable"]:
        assert "--clean" in text


def test_names_unique_and_prefixed():
    stems = [p.stem for p in scenario_paths()]
    assert len(stems) == len(set(stems))
    for sc in SCENARIOS:
        stem = sc.path.stem
        assert stem.startswith(sc.meta["cause"]) or stem.startswith("seed")


def test_coverage_per_cause():
    by_cause = collections.defaultdict(list)
    for sc in SCENARIOS:
        if not sc.path.stem.startswith("seed"):
            by_cause[sc.meta["cause"]].append(sc)
    for cause in CAUSES:
        assert len(by_cause[cause]) >= 3, cause
        assert sum(s.meta["heldout"] for s in by_cause[cause]) >= 1, cause
        assert sum(not s.meta["heldout"] for s in by_cause[cause]) >= 2, cause
    assert len(by_cause["healthy"]) >= 4


def test_five_seeds():
    seeds = sorted(p.stem[:7] for p in scenario_paths() if p.stem.startswith("seed"))
    assert seeds == [f"seed00{i}" for i in range(5)]
