"""The explain registry: every rule found by code, kebab name or cause word."""

from __future__ import annotations

import re

import pytest

from nansentry.diagnose import RULES, catalog
from nansentry.records import ROOT_CAUSES


def test_codes_and_names_are_stable_and_unique() -> None:
    assert len({r.code for r in RULES}) == len(RULES) == len({r.name for r in RULES})
    for r in RULES:
        assert re.fullmatch(r"NS2\d\d", r.code)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r.name)
    assert catalog.find("NS201").name == "log-of-zero"  # type: ignore[union-attr]


@pytest.mark.parametrize("cause", ROOT_CAUSES)
def test_find_by_code_name_and_cause(cause: str) -> None:
    r = catalog.find(cause)
    assert r is not None and r.cause == cause
    assert catalog.find(r.code.lower()) is r
    assert catalog.find(r.name.upper()) is r
    assert catalog.find(cause.replace("_", "-")) is r


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_explain_has_every_section(rule) -> None:  # type: ignore[no-untyped-def]
    text = rule.explain()
    for head in ("What it detects", "Why it yields NaN/Inf", "Example", "Fix"):
        assert head in text
    assert text.startswith(f"{rule.code} {rule.name}")
    assert max(len(line) for line in text.splitlines()) <= 120


def test_unknown_code_is_none() -> None:
    assert catalog.find("NS999") is None
    assert catalog.find("") is None


def test_log_page_warns_against_clamping() -> None:
    assert "Do NOT clamp the input of log" in catalog.find("NS201").explain()  # type: ignore[union-attr]
