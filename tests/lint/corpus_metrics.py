"""Recall and false positives of `nansentry lint` on tests/lint/corpus.

Why: docs/lint.md quotes these numbers; `test_corpus.py` recomputes them and fails
when the docs drift, so the published table is always a measurement.

    python tests/lint/corpus_metrics.py      # prints the markdown table
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
_EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9, ]+)")


@dataclass
class Tally:
    """Per-code counts over the corpus."""

    expected: int = 0
    found: int = 0
    false_positives: int = 0
    missed: list[str] = field(default_factory=list)


def expectations(path: Path) -> list[tuple[int, str]]:
    """(line, code) pairs annotated with `# expect: NS101, NS103` (repeats count twice)."""
    pairs = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            pairs += [(number, code.strip()) for code in match.group(1).split(",") if code.strip()]
    return pairs


def measure() -> dict[str, Tally]:
    """Lint every corpus file; compare findings with the annotations, per code."""
    from nansentry.lint import RULES, lint_source

    tally = {rule.code: Tally() for rule in RULES}
    for path in sorted(CORPUS.glob("*/*.py")):
        got = [(f.line, f.code) for f in lint_source(path.read_text(), str(path))]
        want = expectations(path) if path.parent.name == "unsafe" else []
        remaining = list(got)
        for line, code in want:
            tally[code].expected += 1
            if (line, code) in remaining:
                remaining.remove((line, code))
                tally[code].found += 1
            else:
                tally[code].missed.append(f"{path.parent.name}/{path.name}:{line}")
        for _, code in remaining:
            tally[code].false_positives += 1
    return tally


def table(tally: dict[str, Tally]) -> str:
    """The markdown table published in docs/lint.md."""
    from nansentry.lint import find

    safe = len(list(CORPUS.glob("safe/*.py")))
    unsafe = len(list(CORPUS.glob("unsafe/*.py")))
    rows = ["| code | name | unsafe sites | found | recall | false positives |",
            "|---|---|---:|---:|---:|---:|"]
    for code, t in tally.items():
        recall = f"{t.found / t.expected:.0%}" if t.expected else "-"
        rows.append(f"| {code} | {find(code).name} | {t.expected} | {t.found} | {recall} | {t.false_positives} |")
    expected = sum(t.expected for t in tally.values())
    found = sum(t.found for t in tally.values())
    fps = sum(t.false_positives for t in tally.values())
    rows.append(f"| **all** | {unsafe} unsafe + {safe} safe files | {expected} | {found} | "
                f"{found / expected:.1%} | {fps} |")
    return "\n".join(rows)


if __name__ == "__main__":
    result = measure()
    print(table(result))
    for code, t in result.items():
        for site in t.missed:
            print(f"missed {code} at {site}", file=sys.stderr)
