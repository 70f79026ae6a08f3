"""Verify the scenario zoo with a small, independent harness (no nansentry import).

    python tests/scenarios/_verify.py                 # every scenario, table on stdout
    python tests/scenarios/_verify.py NAME [NAME...]  # a few (file stem or prefix)
    python tests/scenarios/_verify.py --json out.json # also write the results

For each script two child processes run:

* a plain ``python SCRIPT`` run: wall time, exit status, the ``final_loss=`` line;
* a harnessed run (``--child``) that installs, before the script starts:
  - a ``TorchDispatchMode`` that checks the output of every aten op; the first op whose
    output holds a non-finite kind (nan, +inf, -inf) that none of its tensor inputs held,
    and that was not asked for with a non-finite scalar argument (``masked_fill(m, -inf)``),
    is the producer. Ops run inside ``DataLoader.__next__`` are ignored; the batch it
    returns is checked instead (phase ``data``);
  - global module forward pre/post hooks (module stack -> phase ``forward`` and the
    dotted module path relative to the outermost module that holds parameters);
  - global optimizer step pre/post hooks (phase ``optimizer``, step counter);
  - ``torch._C._current_autograd_node()`` (phase ``backward``, the node name gives the
    forward op) and anomaly-mode metadata without NaN checks (forward traceback -> line);
  - the sampler's index stream, so the failing batch's dataset indices are known.
  It stops the script at the first producer and reports step/phase/op/module/line/batch.

The expectations in each script's ``# nansentry-scenario:`` header and its
``# EXPECT-NAN`` line are compared with what was measured.
"""
from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _zoo import Scenario, load_all, steps  # noqa: E402


# --------------------------------------------------------------------------- child side
class _Stop(BaseException):
    """Raised to end the script at the first producer (BaseException: not swallowed)."""


def _child(script: str, argv: list[str], out_path: str) -> None:
    import math
    import runpy

    import torch
    import torch.nn.modules.module as mm
    import torch.optim.optimizer as oo
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten
    import torch.utils.data.dataloader as dl

    script = os.path.abspath(script)
    main_pid = os.getpid()
    st = {
        "step": 0, "in_opt": False, "in_data": 0, "after_backward": False,
        "internal": False, "event": None, "losses": [], "grad_norms": [],
        "param_norms": [], "last_batch_idx": None, "batch_rows": None,
    }
    mod_stack: list = []
    names: dict = {}
    idx_queue: collections.deque = collections.deque()

    def write(extra: dict | None = None) -> None:
        res = {k: st[k] for k in ("step", "event", "losses", "grad_norms", "param_norms")}
        if extra:
            res.update(extra)
        Path(out_path).write_text(json.dumps(res, default=str))

    def kinds(ts) -> set:
        out = set()
        for t in ts:
            if not isinstance(t, torch.Tensor) or not (t.is_floating_point() or t.is_complex()):
                continue
            if t.numel() == 0 or t.device.type == "meta":
                continue
            if bool(torch.isfinite(t).all()):
                continue
            if bool(torch.isnan(t).any()):
                out.add("nan")
            if bool((t == math.inf).any()):
                out.add("+inf")
            if bool((t == -math.inf).any()):
                out.add("-inf")
        return out

    def script_line(tb_lines=None):
        if tb_lines is not None:
            found = None
            for chunk in tb_lines:
                for m in re.finditer(r'File "([^"]+)", line (\d+)', chunk):
                    if os.path.abspath(m.group(1)) == script:
                        found = int(m.group(2))
            return found
        f = sys._getframe()
        while f is not None:
            if os.path.abspath(f.f_code.co_filename) == script:
                return f.f_lineno
            f = f.f_back
        return None

    def module_name():
        if not mod_stack:
            return None, False
        root = mod_stack[0]
        has_params = any(True for _ in root.parameters())
        if id(root) not in names:
            names[id(root)] = {id(m): n for n, m in root.named_modules()}
        return names[id(root)].get(id(mod_stack[-1]), "?"), has_params

    def record(ev: dict) -> None:
        if st["event"] is None and os.getpid() == main_pid:
            ev["step"] = st["step"]
            st["event"] = ev
            write()
            raise _Stop()

    class Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            off = (st["in_data"] or st["internal"] or st["event"] is not None
                   or os.getpid() != main_pid)
            opname = func._schema.name.split("::")[-1]
            if off or opname.startswith(("empty", "new_empty", "resize", "set_")):
                return func(*args, **kwargs)  # uninitialised memory may hold anything
            # in-place / out= ops: look at the written tensors before and after
            written = []
            for i, a in enumerate(func._schema.arguments):
                if a.alias_info is not None and a.alias_info.is_write:
                    v = args[i] if i < len(args) else kwargs.get(a.name)
                    if v is not None:
                        written.append(v)
            flat_args, _ = tree_flatten((args, kwargs))
            k_before = kinds(tree_flatten(written)[0]) if written else set()
            out = func(*args, **kwargs)
            if any(isinstance(a, float) and not math.isfinite(a) for a in flat_args):
                return out  # intentional: masked_fill(m, -inf), full(..., -inf)
            flat_out = tree_flatten(out)[0] + tree_flatten(written)[0]
            k_out = kinds(flat_out)
            if not k_out:
                return out
            wids = {id(t) for t in tree_flatten(written)[0]}
            k_in = kinds([a for a in flat_args if id(a) not in wids]) | k_before
            new = k_out - k_in
            if not new:
                return out
            op = func._schema.name.split("::")[-1].rstrip("_")
            node = torch._C._current_autograd_node()
            ev = {"aten": op, "kinds": sorted(new)}
            if node is not None:
                name = node.name()
                ev.update(phase="backward", node=name,
                          op=re.sub(r"(?<!^)(?=[A-Z])", "_", re.sub(r"Backward\d*$", "", name)).lower(),
                          line=script_line(node.metadata.get("traceback_", [])))
            elif st["in_opt"]:
                ev.update(phase="optimizer", op=op, line=script_line())
            else:
                mod, has_params = module_name()
                if mod is not None and has_params:
                    ev.update(phase="forward", op=op, module=mod, line=script_line())
                else:
                    ev.update(phase="after_backward" if st["after_backward"] else "loss",
                              op=op, module=None, line=script_line())
            ev["batch_indices"] = st["last_batch_idx"]
            record(ev)
            return out

    # module stack
    def pre(m, a):
        mod_stack.append(m)

    def post(m, a, o):
        if mod_stack and mod_stack[-1] is m:
            mod_stack.pop()

    mm.register_module_forward_pre_hook(pre)
    mm.register_module_forward_hook(post, always_call=True)

    # optimizer phase and per-step statistics
    def opt_pre(opt, a, kw):
        st["internal"] = True
        with torch.no_grad():
            gs = [p.grad.detach().double().norm() for g in opt.param_groups
                  for p in g["params"] if p.grad is not None]
            ps = [p.detach().double().norm() for g in opt.param_groups for p in g["params"]]
            st["grad_norms"].append(float(torch.stack(gs).norm()) if gs else None)
            st["param_norms"].append(float(torch.stack(ps).norm()) if ps else None)
        st["internal"] = False
        st["in_opt"] = True

    def opt_post(opt, a, kw):
        st["in_opt"] = False
        st["after_backward"] = False
        st["step"] += 1

    oo.register_optimizer_step_pre_hook(opt_pre)
    oo.register_optimizer_step_post_hook(opt_post)

    # backward: loss value
    orig_backward = torch.autograd.backward

    def backward(tensors, *a, **kw):
        t = tensors[0] if isinstance(tensors, (list, tuple)) else tensors
        if isinstance(t, torch.Tensor) and t.numel() == 1:
            st["losses"].append(float(t.detach().float()))
        try:
            return orig_backward(tensors, *a, **kw)
        finally:
            st["after_backward"] = True

    torch.autograd.backward = backward

    # data: sampler indices + batch check
    orig_next_index = dl._BaseDataLoaderIter._next_index
    orig_next = dl._BaseDataLoaderIter.__next__

    def next_index(self):
        idx = orig_next_index(self)
        idx_queue.append(list(idx) if isinstance(idx, (list, tuple)) else [idx])
        return idx

    def bad_rows(batch, n):
        rows = set()
        for t in tree_flatten(batch)[0]:
            if isinstance(t, torch.Tensor) and t.is_floating_point() and t.dim() and t.shape[0] == n:
                r = ~torch.isfinite(t.reshape(n, -1)).all(1)
                rows.update(int(i) for i in r.nonzero().flatten())
        return sorted(rows)

    def next_(self):
        st["in_data"] += 1
        try:
            batch = orig_next(self)
        finally:
            st["in_data"] -= 1
        idx = idx_queue.popleft() if idx_queue else None
        st["last_batch_idx"] = idx
        if st["event"] is None and os.getpid() == main_pid and not st["internal"]:
            st["internal"] = True
            k = kinds(tree_flatten(batch)[0])
            st["internal"] = False
            if k:
                n = len(idx) if idx else 0
                st["internal"] = True
                rows = bad_rows(batch, n) if n else []
                st["internal"] = False
                record({"phase": "data", "op": None, "module": None, "kinds": sorted(k),
                        "batch_indices": idx,
                        "bad_indices": sorted(idx[r] for r in rows) if idx else None})
        return batch

    dl._BaseDataLoaderIter._next_index = next_index
    dl._BaseDataLoaderIter.__next__ = next_

    torch.autograd.set_detect_anomaly(True, check_nan=False)
    sys.argv = [script] + argv
    sys.path.insert(0, os.path.dirname(script))
    write()
    try:
        with Mode():
            runpy.run_path(script, run_name="__main__")
    except _Stop:
        pass
    except RuntimeError as e:  # a _Stop raised inside autograd comes back wrapped
        if st["event"] is None:
            write({"error": repr(e)[:500]})
            raise
    write()
    sys.stdout.flush()
    os._exit(0)


# --------------------------------------------------------------------------- parent side
def run_plain(sc: Scenario, args: list[str]) -> dict:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, str(sc.path), *args], capture_output=True, text=True,
                       timeout=120)
    dt = time.perf_counter() - t0
    m = re.findall(r"^final_loss=(\S+)\s*$", p.stdout, re.M)
    return {"seconds": round(dt, 2), "rc": p.returncode, "final_loss": m[-1] if m else None,
            "stderr": p.stderr[-400:] if p.returncode else ""}


def run_harness(sc: Scenario) -> dict:
    out = HERE / f".verify_{sc.path.stem}.json"
    p = subprocess.run([sys.executable, __file__, "--child", str(sc.path), str(out)],
                       capture_output=True, text=True, timeout=300)
    try:
        res = json.loads(out.read_text())
    except Exception:
        res = {"event": None, "error": "no result"}
    finally:
        out.unlink(missing_ok=True)
    if p.returncode:
        res["error"] = (res.get("error") or "") + p.stderr[-600:]
    return res


def check(sc: Scenario, h: dict) -> list[str]:
    """Differences between a script's header and what the harness measured."""
    e, ev, problems = sc.meta, h.get("event"), []
    if h.get("error"):
        problems.append(f"harness error: {h['error'][-300:]}")
    if e["cause"] == "healthy":
        if ev is not None:
            problems.append(f"healthy but non-finite: {ev}")
        return problems
    if ev is None:
        return problems + ["no non-finite value observed"]
    if ev["step"] not in steps(e):
        problems.append(f"step {ev['step']} != {e['step']}")
    if ev["phase"] != e["phase"]:
        problems.append(f"phase {ev['phase']} != {e['phase']}")
    ops = e["op"] if isinstance(e["op"], list) else [e["op"]]
    if e["phase"] != "data" and ev.get("op") not in ops:
        problems.append(f"op {ev.get('op')} (aten {ev.get('aten')}) not in {ops}")
    if e["phase"] in ("forward",) and ev.get("module") != e["module"]:
        problems.append(f"module {ev.get('module')} != {e['module']}")
    if e["phase"] != "data" and sc.expect_line is not None and ev.get("line") != sc.expect_line:
        problems.append(f"line {ev.get('line')} != EXPECT-NAN line {sc.expect_line}")
    if e["samples"]:
        got = ev.get("bad_indices") if e["phase"] == "data" else None
        if got is not None and got != e["samples"]:
            problems.append(f"bad rows in batch {got} != samples {e['samples']}")
        if not set(e["samples"]) <= set(ev.get("batch_indices") or []):
            problems.append(f"samples {e['samples']} not all in failing batch")
    return problems


def verify(sc: Scenario) -> dict:
    res = {"name": sc.path.name, "meta": sc.meta}
    res["plain"] = run_plain(sc, [])
    if sc.meta.get("recoverable"):
        res["clean"] = run_plain(sc, ["--clean"])
    res["harness"] = run_harness(sc)
    res["problems"] = check(sc, res["harness"])
    if res["plain"]["final_loss"] is None:
        res["problems"].append(f"no final_loss line (rc={res['plain']['rc']}) {res['plain']['stderr']}")
    if res["plain"]["seconds"] > 20:
        res["problems"].append("slower than 20 s")
    if "clean" in res:
        fl = res["clean"]["final_loss"]
        if fl is None or fl in ("nan", "inf", "-inf"):
            res["problems"].append(f"--clean run not finite: {fl} {res['clean']['stderr']}")
    return res


def _fix_header(r: dict, ev: dict) -> None:
    """--fix: write the measured step (and the failing batch's bad samples) into the header."""
    from _zoo import HEADER
    path = HERE / r["name"]
    meta = dict(r["meta"])
    meta["step"] = ev["step"]
    if ev.get("phase") == "data" and ev.get("bad_indices") is not None:
        meta["samples"] = ev["bad_indices"]
    elif meta["samples"] and ev.get("batch_indices"):
        meta["samples"] = sorted(set(meta["samples"]) & set(ev["batch_indices"]))
    lines = path.read_text().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith(HEADER):
            lines[i] = HEADER + json.dumps(meta) + "\n"
            break
    path.write_text("".join(lines))


def _fmt_norms(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    return f"{xs[0]:.2g}->{max(xs):.2g}"


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--child":
        _child(argv[1], argv[3:], argv[2])
        return 0
    json_out = None
    if "--json" in argv:
        i = argv.index("--json")
        json_out = argv[i + 1]
        del argv[i:i + 2]
    fix = "--fix" in argv
    if fix:
        argv.remove("--fix")
    jobs = 1
    scs = load_all()
    if argv:
        scs = [s for s in scs if any(s.path.stem.startswith(a.removesuffix(".py")) for a in argv)]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(jobs) as ex:
        results = list(ex.map(verify, scs))
    total = 0.0
    bad = 0
    print(f"{'script':44} {'exp step/phase/op':34} {'got':34} {'s':>5} {'clean':>5}  grad-norm")
    for r in results:
        m, ev = r["meta"], r["harness"].get("event") or {}
        exp = f"{m['step']}/{m['phase']}/{m['op']}" if m["cause"] != "healthy" else "healthy"
        got = f"{ev.get('step')}/{ev.get('phase')}/{ev.get('op')}" if ev else "finite"
        total += r["plain"]["seconds"]
        clean = r.get("clean", {}).get("seconds", "")
        print(f"{r['name']:44} {exp[:34]:34} {got[:34]:34} {r['plain']['seconds']:5.1f} {clean!s:>5}"
              f"  {_fmt_norms(r['harness'].get('grad_norms', []))}")
        for p in r["problems"]:
            bad += 1
            print(f"    !! {p}")
        if r["problems"] and ev:
            print(f"    event: { {k: v for k, v in ev.items() if k != 'batch_indices'} }")
            print(f"    batch: {ev.get('batch_indices')}")
        if fix and ev and r["meta"]["cause"] != "healthy":
            _fix_header(r, ev)
    print(f"total plain runtime {total:.1f} s over {len(results)} scripts; {bad} problem(s)")
    if json_out:
        Path(json_out).write_text(json.dumps(results, indent=1, default=str))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
