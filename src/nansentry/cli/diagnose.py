"""`nansentry diagnose DIR`: re-diagnose a saved report dir offline, no model needed.

Re-runs the rules on trace.jsonl + finding.json, rewrites report.json's diagnosis
and report.html, prints the terminal block. Exit 1 if the run had a non-finite
value, 0 if healthy, 2 if DIR is not a report dir.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from nansentry.diagnose import diagnose
from nansentry.report import first_nonfinite, render, write_html
from nansentry.trace import load_report_dir
from nansentry.trace.store import REPORT_JSON, write_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diagnose", help="re-diagnose offline from a saved report dir",
                       description="Re-run the diagnosis rules on a report dir written by `nansentry run --report DIR`.")
    p.add_argument("dir", metavar="DIR", help="a report directory (report.json, trace.jsonl, finding.json)")
    p.add_argument("--no-write", action="store_true", help="print only; leave report.json and report.html untouched")
    p.set_defaults(func=run)


def use_color(stream: object) -> bool:
    """ANSI colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def run(args: argparse.Namespace) -> int:
    d = Path(args.dir)
    try:
        saved = load_report_dir(d)
    except (FileNotFoundError, NotADirectoryError) as e:
        sys.stderr.write(f"nansentry diagnose: {e}\n")
        return 2
    except (ValueError, KeyError, TypeError) as e:
        sys.stderr.write(f"nansentry diagnose: {d / REPORT_JSON} is not a nansentry report ({e}); "
                         "point DIR at a folder written by `nansentry run --report DIR`\n")
        return 2
    report, finding = saved.report, saved.finding
    fn = report.first_nonfinite or first_nonfinite(saved.records, finding)
    nonfinite = report.status == "nonfinite" or fn is not None
    if nonfinite:
        report = replace(report, status="nonfinite", first_nonfinite=fn,
                         diagnosis=diagnose(saved.records, finding, saved.run))
    if not args.no_write:
        raw = json.loads((d / REPORT_JSON).read_text(encoding="utf-8"))
        raw.update({k: v for k, v in report.to_dict().items() if k in ("status", "first_nonfinite", "diagnosis")})
        write_json(d / REPORT_JSON, raw)  # keeps any additive fields the writer put there
        write_html(d, report, finding, saved.run, saved.records)
    sys.stdout.write(render(report, finding, use_color(sys.stdout), report_dir=d))
    return 1 if nonfinite else 0
