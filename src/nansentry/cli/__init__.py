"""The `nansentry` command: one module per sub-command.

Each command module defines `register(subparsers)` (adds its parser and sets
`func=run`) and `run(args) -> int` (the exit code: 0 clean, 1 found, 2 usage,
or the user's script status passed through).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

COMMANDS = ("run", "lint", "explain", "diagnose", "demo")


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and a one-line hint on a usage error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"nansentry: error: {message}\nRun `nansentry --help` for the commands.\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nansentry", description="Catch, localise, explain and recover from NaN/Inf in training.")
    from nansentry import __version__

    parser.add_argument("--version", action="version", version=f"nansentry {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"nansentry.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return int(args.func(args) or 0)
