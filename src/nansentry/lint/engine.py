"""Run the checks on source text, files and folders; apply `# nansentry: ignore`.

Why: the engine is the only part that touches the file system; checks see a
parsed tree. Suppressions are read from comments with `tokenize`, so a `#` inside
a string never silences anything.
"""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from nansentry.lint.catalog import find
from nansentry.lint.checks import CHECKS
from nansentry.lint.context import Context
from nansentry.lint.findings import Finding

_IGNORE = re.compile(r"#\s*nansentry:\s*ignore(?:\[([^\]]*)\])?", re.IGNORECASE)
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "build", "dist"})
ALL = "*"


@dataclass(frozen=True)
class LintError:
    """A path that could not be linted (missing, unreadable, not Python)."""

    path: str
    message: str


def suppressions(source: str) -> dict[int, frozenset[str]]:
    """Line -> silenced codes (upper case) or {"*"} for a bare `# nansentry: ignore`."""
    found: dict[int, frozenset[str]] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            match = _IGNORE.search(tok.string) if tok.type == tokenize.COMMENT else None
            if match:
                codes = [c.strip() for c in (match.group(1) or ALL).split(",") if c.strip()]
                keys = {(r.code if (r := find(c)) else c.upper()) for c in codes}
                found[tok.start[0]] = frozenset(keys) | found.get(tok.start[0], frozenset())
    except (tokenize.TokenError, SyntaxError):
        pass
    return found


def _is_silenced(f: Finding, silenced: dict[int, frozenset[str]], last_line: dict[int, int]) -> bool:
    for line in {f.line, last_line.get(f.line, f.line)}:
        codes = silenced.get(line, frozenset())
        if ALL in codes or f.code in codes:
            return True
    return False


def lint_source(source: str, path: str = "<string>", select: Iterable[str] | None = None) -> list[Finding]:
    """Findings for one module's source, sorted; raises SyntaxError if it does not parse."""
    tree = ast.parse(source, filename=path)
    ctx = Context(path, tree)
    wanted = set(select) if select is not None else set(CHECKS)
    findings = {f for code, check in CHECKS.items() if code in wanted for f in check(ctx)}
    silenced = suppressions(source)
    # A finding on a multi-line statement may be silenced on the statement's last line too.
    last_line = {s.lineno: s.end_lineno or s.lineno for s in ast.walk(tree) if isinstance(s, ast.stmt)}
    return sorted(f for f in findings if not _is_silenced(f, silenced, last_line))


def python_files(path: str) -> Iterator[str]:
    """`path` itself, or every `*.py` under it, skipping hidden folders and virtualenvs."""
    if os.path.isfile(path):
        yield path
        return
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        yield from (os.path.join(folder, f) for f in sorted(files) if f.endswith(".py"))


def lint_paths(paths: Iterable[str]) -> tuple[list[Finding], list[LintError]]:
    """Lint files and folders; problems are returned as `LintError`s, never raised."""
    findings: list[Finding] = []
    errors: list[LintError] = []
    for path in paths:
        if not os.path.exists(path):
            errors.append(LintError(path, "no such file or directory"))
            continue
        for file in python_files(path):
            try:
                with open(file, encoding="utf-8") as handle:
                    source = handle.read()
                findings.extend(lint_source(source, file))
            except SyntaxError as exc:
                errors.append(LintError(file, f"cannot parse as Python 3 (line {exc.lineno}: {exc.msg})"))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                errors.append(LintError(file, f"cannot read: {exc}"))
    return findings, errors
