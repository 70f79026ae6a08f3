"""Run the scenario zoo through `nansentry run` and score what it reports.

    python tests/zoo/run_zoo.py [--jobs 2] [--write docs/accuracy.md] [NAME ...]

Each scenario script (tests/scenarios/) declares in its header the root cause, phase,
op, module, samples and step of its first non-finite value, and marks the producing
line with `# EXPECT-NAN`. This runs each one, unchanged, as `nansentry run --json`,
compares, and prints per-scenario results and accuracy per cause, with the held-out
scripts (kept aside while the rules were designed) counted separately.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "scenarios"))
import _zoo  # noqa: E402


@dataclass
class Outcome:
    name: str
    meta: dict
    expect_line: int | None
    status: int = 0
    seconds: float = 0.0
    report: dict = field(default_factory=dict)
    stderr: str = ""

    @property
    def first(self) -> dict:
        return self.report.get("first_nonfinite") or {}

    @property
    def cause(self) -> str:
        if self.report.get("status") == "healthy":
            return "healthy"
        return (self.report.get("diagnosis") or {}).get("root_cause", "unknown")

    def checks(self) -> dict[str, bool | None]:
        """Each expected field: True right, False wrong, None not applicable."""
        m = self.meta
        if m["cause"] == "healthy":
            return {"cause": self.cause == "healthy" and self.status == 0}
        ops = m["op"] if isinstance(m["op"], list) else [m["op"]]
        return {
            "cause": self.cause == m["cause"],
            "step": self.first.get("step") in _zoo.steps(m) if m.get("step") is not None else None,
            "phase": self.first.get("phase") == m["phase"],
            "op": (self.first.get("op") in ops) if m["op"] is not None else None,
            "line": (self.first.get("line") == self.expect_line) if m["phase"] != "data" and self.expect_line else None,
            "samples": sorted(self.report.get("bad_samples", [])) == sorted(m["samples"]),
        }


def run_one(sc: "_zoo.Scenario", extra: list[str] | None = None) -> Outcome:
    out = Outcome(sc.path.stem, sc.meta, sc.expect_line)
    with tempfile.TemporaryDirectory() as tmp:
        rj = Path(tmp) / "r.json"
        env = {**os.environ, "NO_COLOR": "1"}
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "nansentry", "run", "--json", str(rj), *(extra or []),
                            str(sc.path)], capture_output=True, text=True, env=env, timeout=300, cwd=tmp)
        out.seconds = time.perf_counter() - t0
        out.status, out.stderr = p.returncode, p.stderr
        if rj.is_file():
            out.report = json.loads(rj.read_text())
    return out


def run_all(names: list[str] | None = None, jobs: int = 2) -> list[Outcome]:
    scs = [s for s in _zoo.load_all() if not names or any(s.path.stem.startswith(n) for n in names)]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(run_one, scs))


def _mark(v: bool | None) -> str:
    return "-" if v is None else ("ok" if v else "**no**")


def table(outcomes: list[Outcome]) -> str:
    rows = ["| scenario | held-out | expected | reported | step | phase | op | line | samples | s |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for o in sorted(outcomes, key=lambda o: (o.meta["cause"], o.name)):
        c = o.checks()
        rows.append(f"| {o.name} | {'yes' if o.meta.get('heldout') else ''} | {o.meta['cause']} | {o.cause} | "
                    + " | ".join(_mark(c.get(k)) for k in ("step", "phase", "op", "line", "samples"))
                    + f" | {o.seconds:.1f} |")
    return "\n".join(rows)


def accuracy(outcomes: list[Outcome]) -> str:
    rows = ["| cause | tuned on: right / all | held-out: right / all |", "|---|---|---|"]
    causes = sorted({o.meta["cause"] for o in outcomes})
    tot = {False: [0, 0], True: [0, 0]}
    for cause in causes:
        cells = []
        for held in (False, True):
            group = [o for o in outcomes if o.meta["cause"] == cause and bool(o.meta.get("heldout")) == held]
            right = sum(bool(o.checks()["cause"]) for o in group)
            tot[held][0] += right
            tot[held][1] += len(group)
            cells.append(f"{right} / {len(group)}" if group else "-")
        rows.append(f"| {cause} | {cells[0]} | {cells[1]} |")
    rows.append(f"| **all** | **{tot[False][0]} / {tot[False][1]}** | **{tot[True][0]} / {tot[True][1]}** |")
    fields = ["step", "phase", "op", "line", "samples"]
    loc = ["| field | right / applicable |", "|---|---|"]
    for f in fields:
        vals = [o.checks().get(f) for o in outcomes if o.meta["cause"] != "healthy"]
        vals = [v for v in vals if v is not None]
        loc.append(f"| {f} | {sum(vals)} / {len(vals)} |")
    return "\n".join(rows) + "\n\n" + "\n".join(loc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--write", metavar="FILE", help="write the tables as markdown")
    args = ap.parse_args()
    t0 = time.perf_counter()
    outcomes = run_all(args.names, args.jobs)
    text = f"{table(outcomes)}\n\n{accuracy(outcomes)}\n"
    print(text)
    print(f"{len(outcomes)} scenarios in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if args.write:
        Path(args.write).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
