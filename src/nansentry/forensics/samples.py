"""Which samples alone reproduce an op failure: bisected replays of batch subsets.

A failure is sample-specific when a replay of some samples alone fails at the same
op and phase while others do not. Subsets are replayed in the same train/eval mode
as the step, so batch-coupled layers (BatchNorm in train mode, in-batch contrastive
losses) see different statistics: a sample is only reported when its subset really
reproduces the failure, and a batch where most samples "fail" is not sample-specific.
Dataset indices come from the DataLoader batch whose tensors the root call received.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from typing import Any, Iterator

import torch
from torch.utils._pytree import tree_flatten

from nansentry.forensics.replay import Subset, replay_step
from nansentry.forensics.standins import stand_ins
from nansentry.forensics.tracer import Tracer
from nansentry.watch.snapshot import BatchRef, StepSnapshot
from nansentry.watch.window import Out, Ref

MAX_REPLAYS = 64  # bound on subset replays (bisection needs ~2 log2(B) per bad sample)
# Replays the search always gets, whatever the clock says: enough to bisect a batch of 256
# down to one sample and confirm it. On a machine busy with other work every replay is
# slower, and a time budget alone would cut the search short there (no samples found).
MIN_REPLAYS = 24
BUDGET = 3.0  # the search may take this many times the step's own replay...
BUDGET_FLOOR_S = 1.0  # ...or this long, for tiny models whose replays are all fixed cost
MAX_SAMPLES = 8  # more failing samples than this: a property of the model, not of samples
REST_SHARE = 0.2  # with fresh weights, the rest of the batch may fail in at most this share of the output
REINITS = 2  # independent re-initialisations a bad sample must fail under


def batch_size(snap: StepSnapshot) -> int | None:
    """The most common dim 0 among the tensor arguments of the model's root calls (not of a
    loss module called on its output, whose flattened arguments would outvote the batch)."""
    dims: Counter[int] = Counter()
    for call in snap.root_calls:
        if _on_model_output(call, snap):
            continue
        for t in tree_flatten((call.args, call.kwargs))[0]:
            if isinstance(t, torch.Tensor) and t.dim() > 0:
                dims[int(t.shape[0])] += 1
    if not dims:
        return None
    return dims.most_common(1)[0][0]


def _on_model_output(call: Any, snap: StepSnapshot) -> bool:
    """The call takes what an earlier root call or loss op made (a loss module on the
    model's output), not only the batch and the loop's preparation of it."""
    if call.arg_refs is None:
        return False
    before = {seg.start + k for seg in snap.loss_ops or [] if seg.before_model for k in range(len(seg.ops))}
    return any(isinstance(a, Out) or (isinstance(a, Ref) and a.op not in before) for a in call.arg_refs)


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a is b:
        return True
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(torch.equal(a.detach().cpu(), b.detach().cpu()))


def source_batch(snap: StepSnapshot, size: int, call: int | None = None) -> BatchRef | None:
    """The DataLoader batch the root calls were fed (match by values, then by size); with
    `call`, the batch of that root call (gradient accumulation: one batch per micro-step)."""
    refs = [r for r in snap.batches if r.indices is not None and len(r.indices) == size]
    if not refs:
        return None
    calls = snap.root_calls if call is None else snap.root_calls[call:call + 1]
    args = [t for c in calls for t in tree_flatten((c.args, c.kwargs))[0] if isinstance(t, torch.Tensor)]
    matched = [r for r in refs if any(_same(b, a) for b in tree_flatten(r.batch)[0]
                                      if isinstance(b, torch.Tensor) for a in args)]
    if len(matched) == 1:
        return matched[0]
    return refs[0] if len(refs) == 1 else None


class _TooMany(Exception):
    pass


class _Search:
    def __init__(self, engine: Any, snap: StepSnapshot, size: int, op: str, phase: str, budget_s: float) -> None:
        self.engine, self.snap, self.size, self.op, self.phase = engine, snap, size, op, phase
        self.replays = 0
        self.last_call: int | None = None  # the root call the last failing replay failed in
        self.deadline = time.perf_counter() + budget_s

    def fails(self, positions: list[int] | None) -> bool:
        """Does a replay of these positions (None: the whole batch) fail at the same op?"""
        return self.failed_fraction(positions) > 0.0

    def failed_fraction(self, positions: list[int] | None) -> float:
        """Share of the producer's output that is non-finite (0.0: no failure at that op)."""
        if self.replays >= MAX_REPLAYS or (self.replays >= MIN_REPLAYS and time.perf_counter() > self.deadline):
            raise TimeoutError
        self.replays += 1
        tracer = Tracer()
        try:
            replay_step(self.engine, self.snap, tracer, Subset(positions, self.size) if positions else None,
                        backward=self.phase == "backward", before_phase=self.phase)
        except Exception:  # noqa: BLE001 - e.g. BatchNorm on one sample in training mode
            if tracer.first is None:
                return 0.0  # it failed before the producer: not reproduced
            # it failed after the producer had already made its value (a set pooled to 0/0,
            # then BatchNorm refused a batch of one): the failure was seen
        f = tracer.first
        if f is None or f.phase != self.phase or f.op != self.op or f.output is None:
            return 0.0
        self.last_call = tracer.first_call
        return max(f.output.n_nonfinite / max(f.output.numel, 1), 1e-12)

    def bisect(self, positions: list[int]) -> list[int]:
        if len(positions) == 1:
            return positions
        half = len(positions) // 2
        out: list[int] = []
        for part in (positions[:half], positions[half:]):
            if self.fails(part):
                out += self.bisect(part)
                if len(out) > MAX_SAMPLES:
                    raise _TooMany  # a property of the model, not of a few samples
        return out


@contextlib.contextmanager
def _fresh_parameters(modules: list[torch.nn.Module], seed: int) -> Iterator[None]:
    """Run with the modules re-initialised (seeded): on stand-ins, the user's tensors untouched.

    A degenerate sample (an all-zero vector, a fully masked row, an empty set, a pair
    of identical items) fails whatever the weights; a sample that fails only because
    the weights drifted (saturation, overflow, a negative pre-activation) does not
    fail with fresh ones. Cost: one copy of the parameters, failing step only.
    """
    rng = torch.get_rng_state()
    try:
        with stand_ins(modules):  # reset_parameters() of BatchNorm resets its statistics too
            torch.manual_seed(seed)
            with torch.no_grad():
                for m in modules:
                    for sub in m.modules():
                        reset = getattr(sub, "reset_parameters", None)
                        if callable(reset):
                            reset()
            yield
    finally:
        torch.set_rng_state(rng)


def locate_samples(engine: Any, snap: StepSnapshot, op: str, phase: str,
                   budget_s: float = 60.0) -> tuple[list[int], list[int], str | None]:
    """(dataset indices, batch positions, note) of the samples that alone reproduce the failure.

    `budget_s` bounds the search's time (the caller passes a multiple of one replay) once it
    has had MIN_REPLAYS replays.
    """
    size = batch_size(snap)
    if size is None or size < 2:
        return [], [], None
    search = _Search(engine, snap, size, op, phase, budget_s)
    modules = list({id(c.module): c.module for c in snap.root_calls}.values())
    state_note = "the failure does not happen with re-initialised weights: the cause is the model's state, not samples"
    try:
        with _fresh_parameters(modules, 0):  # one replay rules out model-state failures
            if not search.fails(None):
                return [], [], state_note
        bad = search.bisect(list(range(size)))
    except TimeoutError:
        return [], [], "sample search stopped at its time budget: not attributed to samples"
    except _TooMany:
        return [], [], f"more than {MAX_SAMPLES} samples fail alone: not specific to a few samples"
    if not bad or len(bad) > size // 2:
        return [], [], "the failure is not specific to a few samples" if bad else None
    # confirm: the bad samples together reproduce, the rest of the batch does not
    rest = [i for i in range(size) if i not in set(bad)]
    try:
        if rest and search.fails(rest):
            return [], [], "the rest of the batch fails too: not attributed to samples"
    except TimeoutError:
        pass
    # sample-specific only if each sample still fails with fresh weights (see above)
    robust = len(bad) <= MAX_SAMPLES
    call_of: dict[int, int | None] = {}  # position -> the root call (micro-batch) it fails in
    try:
        for seed in range(REINITS):
            with _fresh_parameters(modules, seed):
                for i in bad:
                    robust = robust and search.fails([i])
                    call_of.setdefault(i, search.last_call)
                # with fresh weights the others must stay (mostly) finite: else any sample can fail
                robust = robust and not (seed == 0 and rest and search.failed_fraction(rest) > REST_SHARE)
    except TimeoutError:
        return [], [], "sample search stopped at its time budget: not attributed to samples"
    if not robust:
        return [], [], state_note
    indices = []
    for i in bad:
        ref = source_batch(snap, size, call_of.get(i))
        if ref is None or ref.indices is None:
            return [], bad, "no DataLoader indices for this batch: positions in the batch only"
        indices.append(int(ref.indices[i]))
    return sorted(indices), bad, None
