"""`nansentry lint [--format text|json] PATH...`: static NaN checks, exit 0/1/2.

Why a separate command: it runs in CI on code that may not even import here (no
framework needed), and it is the one place the user sees prevention rather than
diagnosis. Results go to stdout, problems and the summary to stderr.
"""

from __future__ import annotations

import argparse
import sys

from nansentry.lint.engine import lint_paths, python_files
from nansentry.lint.output import as_json, as_text, summary


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `lint` sub-command to the `nansentry` parser."""
    p = sub.add_parser("lint", help="find NaN-prone code (log of softmax, x/norm, eps=0, ...)",
                       description="Static checks for code that produces NaN/Inf in training. "
                                   "Silence a line with `# nansentry: ignore[NS101]`.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="Python files or folders (searched for *.py)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Lint `args.paths`; 0 clean, 1 findings, 2 when a path is missing or does not parse."""
    findings, errors = lint_paths(args.paths)
    sys.stdout.write(as_json(findings) if args.format == "json" else as_text(findings))
    for error in errors:
        sys.stderr.write(f"nansentry lint: error: {error.path}: {error.message}\n")
    files = sum(1 for path in args.paths for _ in python_files(path))
    sys.stderr.write(summary(findings, files) + "\n")
    if errors:
        sys.stderr.write("nansentry lint: exit 2: fix the paths above (or leave them out) and run again.\n")
        return 2
    return 1 if findings else 0
