"""Print docs/scenarios.md's table from the scenario headers.

    python tests/scenarios/_table.py                       # headers only
    python tests/scenarios/_table.py --times verify.json   # + seconds from _verify.py --json
"""
from __future__ import annotations

import json
import sys

from _zoo import load_all, steps


def main(argv: list[str]) -> None:
    seconds: dict[str, float] = {}
    if "--times" in argv:
        results = json.loads(open(argv[argv.index("--times") + 1]).read())
        seconds = {r["name"]: r["plain"]["seconds"] for r in results}
    print("| file | cause | phase | op | module | step | samples | held-out | recoverable | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for sc in load_all():
        m = sc.meta
        op = "/".join(m["op"]) if isinstance(m["op"], list) else (m["op"] or "")
        module = "" if m["module"] is None else (m["module"] or '""')
        step = "" if m["step"] is None else "/".join(map(str, steps(m)))
        samples = ", ".join(map(str, m["samples"]))
        secs = seconds.get(sc.path.name, "")
        print(f"| `{sc.path.name}` | {m['cause']} | {m['phase'] or ''} | {op} | {module} | {step} "
              f"| {samples} | {'yes' if m['heldout'] else ''} | {'yes' if m['recoverable'] else ''} | {secs} |")


if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    main(sys.argv[1:])
