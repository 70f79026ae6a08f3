"""Recovery table: each recoverable script under `nansentry run --recover auto` vs `--clean`.

    python tests/recover/_zoo_table.py [--only NAME ...] > table.md

Prints one markdown row per script: exit status, final losses, their ratio, what the
guard did. The scripts are listed by `scripts()`.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "scenarios"))
import _zoo  # noqa: E402

FINAL = re.compile(r"final_loss=([^\s]+)")


def final_loss(text: str) -> float | None:
    m = FINAL.findall(text)
    return float(m[-1]) if m else None


def run(cmd: list[str], timeout: int = 900) -> tuple[int, str, float]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    return p.returncode, p.stdout + p.stderr, time.perf_counter() - t0


def scripts() -> list[tuple[Path, str]]:
    """(path, set): the zoo's recoverable scenarios ("zoo"/"heldout"), the zoo's other scripts
    with a `--clean` variant ("outside": not a target, shown for survival), this folder's own
    ("recover") and the held-out recovery scripts ("recover-heldout", "recover-heldout2", ...)."""
    out = []
    for s in _zoo.load_all():
        if s.meta.get("recoverable"):
            out.append((s.path, "heldout" if s.meta.get("heldout") else "zoo"))
        elif "--clean" in s.path.read_text(encoding="utf-8"):
            out.append((s.path, "outside"))
    out += [(p, "recover") for p in sorted((HERE / "scripts").glob("[a-z]*.py"))]
    for folder in sorted(HERE.glob("heldout*")):  # heldout, heldout2, ...: each a batch written blind
        out += [(p, f"recover-{folder.name}") for p in sorted(folder.glob("[a-z]*.py"))]
    return out


def run_auto(path: Path) -> tuple[int, str, dict, float]:
    """`nansentry run --recover auto PATH`: exit status, output, JSON report ({} if none), seconds."""
    cli = str(Path(sys.executable).with_name("nansentry"))
    with tempfile.TemporaryDirectory() as d:
        js = Path(d) / "r.json"
        rc, out, secs = run([cli, "run", "--recover", "auto", "--json", str(js), str(path)])
        rep = json.loads(js.read_text()) if js.exists() else {}
    return rc, out, rep, secs


def row(path: Path, kind: str) -> dict:
    rc_clean, out_clean, _ = run([sys.executable, str(path), "--clean"])
    rc, out, rep, secs = run_auto(path)
    clean, got = final_loss(out_clean), final_loss(out)
    # a ratio compares positive losses only: a surrogate loss (REINFORCE) can be negative
    ratio = got / clean if clean and clean > 0 and got is not None and math.isfinite(got) else float("nan")
    rec = rep.get("recovery", {})
    did = sorted({i["action"] for i in rep.get("interventions", [])})
    cause = (rep.get("diagnosis") or {}).get("root_cause")
    return {"script": path.stem, "kind": kind, "rc": rc, "rc_clean": rc_clean, "clean": clean, "auto": got,
            "ratio": ratio, "actions": did, "cause": cause, "seconds": round(secs, 1),
            "quarantined": rec.get("quarantined"), "lr_factor": rec.get("lr_factor"),
            "clip": rec.get("clip_threshold"), "skipped": rec.get("skipped_steps")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--set", nargs="*", help="only these sets (zoo, heldout, outside, recover, recover-heldout, recover-heldout2, ...)")
    ap.add_argument("--jsonl", help="also append each row as JSON to this file")
    args = ap.parse_args()
    print("| script | set | diagnosis | exit | final loss clean | final loss auto | ratio | actions |")
    print("|---|---|---|---|---|---|---|---|")
    for path, kind in scripts():
        if args.only and path.stem not in args.only or args.set and kind not in args.set:
            continue
        r = row(path, kind)
        if args.jsonl:
            with open(args.jsonl, "a") as f:
                f.write(json.dumps(r) + "\n")
        print(f"| {r['script']} | {r['kind']} | {r['cause']} | {r['rc']} | {r['clean']:.4g} | "
              f"{r['auto'] if r['auto'] is None else format(r['auto'], '.4g')} | {r['ratio']:.3g} | "
              f"{', '.join(r['actions'])} |", flush=True)


if __name__ == "__main__":
    main()
