"""In-loop time per training step: bare vs guarded vs torch.autograd.detect_anomaly.

All modes run in one process, interleaved round by round on the same models and
batches, so machine noise hits them alike; the table reports the median per-step
time of each mode and the median, over rounds, of its time over the bare time of the
same round (paired ratios resist load that drifts during the run).

    python benchmarks/overhead.py [--rounds 7] [--steps 30] [--device cpu|cuda] [--big] [--auto]

The third model draws its batches from a DataLoader and prepares them in the loop, the
path where the guard also records the loop's own ops on each batch (docs/forensics.md).

`--auto` adds `recover="auto"` (the recovery ladder: good-state snapshots at the automatic
cadence, the finite divergence check). Each timed block starts a new guard, so its first
snapshot and the one-time `gc` scan for schedulers fall inside the block: use enough
`--steps` for them to amortise as they would in a real run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time
from typing import Callable, Iterator

import torch
from torch import nn

from nansentry.watch.guard import Guard


def small_cnn() -> tuple[nn.Module, Callable[[], tuple[torch.Tensor, torch.Tensor]], Callable]:
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    )
    x, y = torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,))
    return model, lambda: (x, y), nn.functional.cross_entropy


class TinyTransformer(nn.Module):
    def __init__(self, vocab: int = 512, d: int = 128, layers: int = 4, heads: int = 4, seq: int = 64) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.zeros(seq, d))
        layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.1, batch_first=True, norm_first=True)
        self.body = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, vocab)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.emb(idx) + self.pos[: idx.shape[1]]))


def small_transformer(big: bool = False) -> tuple[nn.Module, Callable, Callable]:
    if big:  # ~100M parameters, for a GPU
        model = TinyTransformer(vocab=32000, d=768, layers=12, heads=12, seq=256)
        idx = torch.randint(0, 32000, (16, 256))
    else:
        model = TinyTransformer()
        idx = torch.randint(0, 512, (16, 64))
    vocab = model.head.out_features

    def loss_fn(out: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(out.reshape(-1, vocab), tgt.reshape(-1))

    return model, lambda: (idx, idx.roll(1, dims=1)), loss_fn


class Streamed:
    """Batches drawn from a DataLoader every step, then prepared by the loop's own code
    (inputs standardised, vote counts turned into target distributions): the path where
    the guard also records the loop's ops on each batch."""

    def __init__(self, n: int = 8192, features: int = 64, classes: int = 10, batch: int = 256) -> None:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(n, features, generator=g)
        votes = torch.randint(0, 5, (n, classes), generator=g).float() + 1.0
        self.loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, votes), batch_size=batch,
                                                  shuffle=True, drop_last=True)
        self.it = iter(self.loader)

    def __call__(self, device: str) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            x, votes = next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            x, votes = next(self.it)
        x, votes = x.to(device), votes.to(device)
        x = (x - x.mean(0)) / (x.std(0) + 1e-5)
        return x, votes / votes.sum(1, keepdim=True)


def loader_mlp() -> tuple[nn.Module, Streamed, Callable]:
    model = nn.Sequential(nn.Linear(64, 512), nn.GELU(), nn.Linear(512, 512), nn.GELU(), nn.Linear(512, 10))

    def soft_ce(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return -(target * nn.functional.log_softmax(out, dim=1)).sum(1).mean()

    return model, Streamed(), soft_ce


@contextlib.contextmanager
def quiet_guard(*args: object, **kwargs: object) -> Iterator[None]:
    """A Guard whose end-of-run summary line is not printed (one per timed block)."""
    g = Guard(*args, **kwargs)
    try:
        yield
    finally:
        with contextlib.redirect_stderr(io.StringIO()):
            g.close()


@contextlib.contextmanager
def mode_context(mode: str, model: nn.Module, opt: torch.optim.Optimizer) -> Iterator[None]:
    if mode == "bare":
        yield
    elif mode == "guard (API)":
        with quiet_guard(model, opt):
            yield
    elif mode == "guard auto (API)":
        with quiet_guard(model, opt, recover="auto"):
            yield
    elif mode == "guard (run)":
        with quiet_guard():  # global hooks: the code path of `nansentry run`
            yield
    elif mode == "detect_anomaly":
        with torch.autograd.detect_anomaly(check_nan=True):
            yield
    else:
        raise ValueError(mode)


def time_steps(model, opt, batch, loss_fn, steps: int, device: str) -> float:
    streamed = isinstance(batch, Streamed)
    if not streamed:
        x, y = (t.to(device) for t in batch())
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        if streamed:
            x, y = batch(device)
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync()
    return (time.perf_counter() - t0) / steps


MODES = ("bare", "guard (API)", "guard (run)", "detect_anomaly")


def bench(name: str, make, rounds: int, steps: int, device: str, modes=MODES) -> list[str]:
    torch.manual_seed(0)
    model, batch, loss_fn = make()
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times: dict[str, list[float]] = {m: [] for m in modes}
    for m in modes:  # warm-up
        with mode_context(m, model, opt):
            time_steps(model, opt, batch, loss_fn, 3, device)
    for r in range(rounds):
        order = modes if r % 2 == 0 else tuple(reversed(modes))
        for m in order:
            with mode_context(m, model, opt):
                times[m].append(time_steps(model, opt, batch, loss_fn, steps, device))
    n = sum(p.numel() for p in model.parameters())
    rows = []
    for m in modes:
        med = statistics.median(times[m])
        # paired: each round's time over the bare time of the same round, then the median
        ratio = statistics.median(t / b for t, b in zip(times[m], times["bare"]))
        rows.append(f"| {name} ({n / 1e6:.2f}M params, {device}) | {m} | {med * 1e3:.2f} | {ratio:.3f}x |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--big", action="store_true", help="also a ~100M-parameter transformer")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    ap.add_argument("--only", choices=("cnn", "transformer", "loader"), help="one model only")
    ap.add_argument("--auto", action="store_true", help="also the guard with recover='auto'")
    args = ap.parse_args()
    modes = MODES[:2] + ("guard auto (API)",) + MODES[2:] if args.auto else MODES
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = ["| model | mode | ms/step (median) | vs bare (median of paired rounds) |", "|---|---|---|---|"]
    if args.only in (None, "cnn"):
        rows += bench("small CNN", small_cnn, args.rounds, args.steps, args.device, modes)
    if args.only in (None, "transformer"):
        rows += bench("small transformer", small_transformer, args.rounds, args.steps, args.device, modes)
    if args.only in (None, "loader"):
        rows += bench("MLP fed by a DataLoader", loader_mlp, args.rounds, args.steps, args.device, modes)
    if args.big:
        rows += bench("transformer", lambda: small_transformer(big=True), args.rounds, max(5, args.steps // 4),
                      args.device, modes)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
