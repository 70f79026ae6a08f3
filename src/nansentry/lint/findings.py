"""A lint finding: where, which rule, what the line does, and the fix."""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass

from nansentry.lint.catalog import find
from nansentry.lint.context import Context


@dataclass(frozen=True, order=True)
class Finding:
    """One NaN-prone expression; `line`/`col` are 1-based like ruff and flake8."""

    file: str
    line: int
    col: int
    code: str
    name: str
    message: str
    fix: str

    def to_json(self) -> dict[str, object]:
        """The contract's JSON object (`col` added)."""
        return asdict(self)


def finding(ctx: Context, node: ast.AST, code: str, message: str, fix: str) -> Finding:
    """A finding for `node` under rule `code` (its name taken from the catalog)."""
    rule = find(code)
    assert rule is not None, code
    return Finding(ctx.path, getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1,
                   code, rule.name, message, fix)
