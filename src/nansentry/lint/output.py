"""Text and JSON renderings of lint findings.

Why: people read `path:line:col: CODE name  message` (the ruff/flake8 shape their
editors already jump to); scripts parse the contract's JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from nansentry.lint.findings import Finding


def as_text(findings: Sequence[Finding]) -> str:
    """One finding per line, each followed by an indented `fix:` line."""
    lines = []
    for f in findings:
        lines.append(f"{f.file}:{f.line}:{f.col}: {f.code} {f.name}  {f.message}")
        lines.append(f"    fix: {f.fix}")
    return "\n".join(lines) + ("\n" if lines else "")


def as_json(findings: Sequence[Finding]) -> str:
    """`{"findings": [{"file", "line", "col", "code", "name", "message", "fix"}, ...]}`."""
    return json.dumps({"findings": [f.to_json() for f in findings]}, indent=2) + "\n"


def summary(findings: Sequence[Finding], files: int) -> str:
    """The one-line count for stderr."""
    if not findings:
        return f"nansentry lint: no NaN-prone code found in {files} file(s)."
    codes = sorted({f.code for f in findings})
    return (f"nansentry lint: {len(findings)} finding(s) in {files} file(s) ({', '.join(codes)}); "
            f"`nansentry explain CODE` tells why and how to fix.")
