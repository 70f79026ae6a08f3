"""The rule catalog: stable codes, lookup by code or name, explain pages."""

from __future__ import annotations

import re

import pytest

from nansentry.lint import RULES, find
from nansentry.lint.checks import CHECKS


def test_every_check_has_a_rule_and_every_rule_a_check() -> None:
    assert [r.code for r in RULES] == list(CHECKS)


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_identity_and_explain_page(rule) -> None:
    assert re.fullmatch(r"NS1\d\d", rule.code) and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", rule.name)
    page = rule.explain()
    for heading in ("What it detects", "Why it yields NaN", "Example", "Fix"):
        assert heading in page
    assert page.startswith(f"{rule.code} {rule.name}")


@pytest.mark.parametrize(("key", "code"), [
    ("NS101", "NS101"), ("ns104", "NS104"), ("log-of-softmax", "NS101"), (" inf-mask-softmax ", "NS108"),
], ids=["code", "lower-code", "name", "padded-name"])
def test_find_by_code_or_name(key: str, code: str) -> None:
    rule = find(key)
    assert rule is not None and rule.code == code


@pytest.mark.parametrize("key", ["NS999", "log-of-sigmoid", ""], ids=["unknown-code", "unknown-name", "empty"])
def test_find_unknown_is_none(key: str) -> None:
    assert find(key) is None


def test_codes_are_stable() -> None:
    """Codes are part of the contract: changing one breaks users' suppressions."""
    assert {r.code: r.name for r in RULES} == {
        "NS101": "log-of-softmax", "NS102": "clipped-log-input", "NS103": "unguarded-division",
        "NS104": "unguarded-sqrt", "NS105": "exp-without-max", "NS106": "unclamped-acos",
        "NS107": "optimizer-eps-zero", "NS108": "inf-mask-softmax", "NS109": "relu-recurrent-cell",
        "NS110": "half-without-loss-scaling", "NS111": "where-unsafe-branch",
    }
