"""The corpus targets (recall >= 90%, no false positive) and the docs table that quotes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lint.corpus_metrics import measure, table

DOCS = Path(__file__).resolve().parents[2] / "docs" / "lint.md"
BEGIN, END = "<!-- corpus-table:begin -->", "<!-- corpus-table:end -->"


@pytest.fixture(scope="module")
def tally():
    return measure()


def test_recall_at_least_90_percent(tally) -> None:
    expected = sum(t.expected for t in tally.values())
    found = sum(t.found for t in tally.values())
    assert found / expected >= 0.9, {c: t.missed for c, t in tally.items() if t.missed}


def test_no_false_positive(tally) -> None:
    assert {c: t.false_positives for c, t in tally.items() if t.false_positives} == {}


def test_every_check_has_unsafe_examples(tally) -> None:
    assert [c for c, t in tally.items() if t.expected < 3] == []


def test_docs_table_is_the_measured_one(tally) -> None:
    text = DOCS.read_text()
    published = text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip()
    assert published == table(tally), "run `python tests/lint/corpus_metrics.py` and paste into docs/lint.md"
