"""`nansentry demo`: a broken training run, caught and explained, in under a minute.

It runs a small real training script shipped with the package (a classifier with a
hand-written cross-entropy that turns NaN once its softmax saturates) through
`nansentry run --report DIR`, exactly as a user would run their own script.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from nansentry import examples

SCRIPT = Path(examples.__file__).with_name("handwritten_cross_entropy.py")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="a broken training run, caught and explained",
                       description="Run a small broken training script under `nansentry run` and explain it.")
    p.add_argument("--report", metavar="DIR", default="nansentry-demo",
                   help="where to write the report (default: ./nansentry-demo)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cmd = [sys.executable, "-m", "nansentry", "run", "--report", args.report, str(SCRIPT)]
    sys.stderr.write(f"$ nansentry run --report {args.report} {SCRIPT.name}\n"
                     f"  (a classifier whose loss is the hand-written -(y * log(softmax(z))).sum())\n\n")
    sys.stderr.flush()
    status = subprocess.call(cmd)
    report_path = Path(args.report) / "report.json"
    if status == 2 or not report_path.is_file():
        sys.stderr.write("nansentry demo: the run did not produce a report; see the messages above.\n")
        return 2
    report = json.loads(report_path.read_text(encoding="utf-8"))
    if status != 1 or report.get("status") != "nonfinite":
        sys.stderr.write(f"nansentry demo: expected the run to be stopped at a NaN, got exit status {status} "
                         f"and report status {report.get('status')!r}.\n")
        return 1
    html = Path(args.report) / "report.html"
    sys.stderr.write(
        f"\nThe run was stopped at step {report['first_nonfinite']['step']} instead of training on NaN.\n"
        f"Open {html} for the plots, or re-diagnose offline: nansentry diagnose {args.report}\n"
        f"Your own script: nansentry run --report DIR train.py [ARGS...]\n"
    )
    return 0
