"""Cost of forensics: the always-on loss-window recorder and the replay of a failing step.

Two measurements on the models of `benchmarks/overhead.py`, in one process:

* recorder: the loss code (the ops between the model output and `backward()`) timed
  bare and inside the recorder, interleaved round by round; reported per step and as a
  fraction of one full training step (the recorder's whole always-on cost: it is only
  active in that window).
* replay: one traced replay of a whole step (forward, loss, backward) in which
  nothing fails, so every op is checked (the worst case of one replay), and a full
  `investigate()` of a forced failure (a `log` of an exact zero at the end of the
  loss, on every sample: the sample search then runs until it gives up), each vs
  one normal step.

    python benchmarks/replay.py [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch

from overhead import small_cnn, small_transformer  # type: ignore[import-not-found]

from nansentry.forensics.replay import replay_step
from nansentry.forensics.tracer import Tracer
from nansentry.watch.guard import Guard


def _median_ms(fn: Callable[[], None], n: int) -> float:
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3


def bench(name: str, make: Callable, rounds: int) -> list[str]:
    torch.manual_seed(0)
    model, batch, loss_fn = make()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x, y = batch()

    def step() -> None:
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    out = model(x).detach().requires_grad_()
    guard = Guard(model, opt)
    engine = guard._session.engine
    window = engine.window

    def loss_bare() -> None:
        loss_fn(out, y)

    def loss_recorded() -> None:
        engine.snapshot.loss_ops = None  # a new step each time
        window.open(object(), out)
        loss_fn(out, y)
        window.close()

    guard._session.installation.remove()
    step()  # warm-up
    t_step, t_bare, t_rec, t_replay, t_inv = [], [], [], [], []
    for _ in range(rounds):
        t_step.append(_median_ms(step, 3))
        t_bare.append(_median_ms(loss_bare, 20))
        t_rec.append(_median_ms(loss_recorded, 20))
        # a full traced replay of a healthy step (forward, loss, backward: the worst case,
        # nothing found so every op is checked) through a live guard's snapshot
        g = Guard(model, opt)
        e = g._session.engine

        def grab(o, a, k, e=e):  # at the pre-hook, where the session would call forensics
            t0 = time.perf_counter()
            replay_step(e, e.snapshot, Tracer())
            t_replay.append((time.perf_counter() - t0) * 1e3)

        h = opt.register_step_pre_hook(grab)
        step()
        h.remove()
        g._session.installation.remove()
        t_inv.append(_investigate_ms(model, opt, x, y, loss_fn))
    s, b, r, rp, iv = (statistics.median(v) for v in (t_step, t_bare, t_rec, t_replay, t_inv))
    return [
        f"| {name} | one training step | {s:.2f} ms | 1.000x |",
        f"| {name} | loss code, bare | {b:.3f} ms | {b / s:.4f}x |",
        f"| {name} | loss code, recorded | {r:.3f} ms | {r / s:.4f}x (recorder: +{(r - b) / s * 100:.2f}% of a step) |",
        f"| {name} | traced replay (forward+loss+backward, every op checked) | {rp:.1f} ms | {rp / s:.2f}x |",
        f"| {name} | investigate(): replay + sample search, log(0) on every sample | {iv:.1f} ms | {iv / s:.2f}x |",
    ]


def _investigate_ms(model, opt, x, y, loss_fn) -> float:
    """A forced loss-phase failure through the whole guard; the forensics time it reports."""
    import copy

    from nansentry.errors import NonFiniteError

    m = copy.deepcopy(model)
    o = type(opt)(m.parameters(), lr=1e-4)
    g = Guard(m, o)
    try:
        loss = loss_fn(m(x), y)
        loss = loss + torch.log(torch.zeros_like(loss))  # -inf: a loss-phase producer
        o.zero_grad()
        loss.backward()
        o.step()
    except NonFiniteError:
        pass
    finding = g._session.finding
    assert finding is not None and finding.op is not None and finding.op.op == "log", finding
    return (finding.replay_seconds or 0.0) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = ["| model | what | median | vs one step |", "|---|---|---|---|"]
    rows += bench("small CNN", small_cnn, args.rounds)
    rows += bench("small transformer", small_transformer, args.rounds)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
