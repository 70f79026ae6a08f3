"""Buffers a skipped step's forward already wrote non-finite values into.

Skipping a step holds back its update, but its forward has run: BatchNorm in train mode
folded the batch's NaN into its running statistics, and every eval pass (and a
ReduceLROnPlateau on the validation loss) would be NaN from then on. After a skip, such
buffers are put back from the newest good state that holds them (`--recover auto`), or,
for BatchNorm without one (`--recover skip`), its running statistics are reset, which the
next training steps re-estimate. One finiteness check per floating buffer: skipped steps only.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterable

import torch
from torch.nn.modules.batchnorm import _NormBase

from nansentry.recover.rollback import keep_version, write_back


def heal_buffers(modules: Iterable[torch.nn.Module], state: Any = None) -> str | None:
    """Fix the non-finite floating buffers of `modules` (a module or buffer met twice counts
    once); what was done (None: all were finite)."""
    seen: set[int] = set()
    restored, reset, left = [], [], []
    saved = {id(t): c for t, c in zip(state.targets, state.tensors)} if state is not None else {}
    with torch.no_grad():
        for root in modules:
            for prefix, mod in root.named_modules():
                for name, b in list(mod._buffers.items()):
                    if b is None or id(b) in seen or not b.is_floating_point() or bool(torch.isfinite(b).all()):
                        continue
                    seen.add(id(b))
                    if id(b) in saved:
                        write_back(b, saved[id(b)])
                        restored.append(f"{prefix}.{name}" if prefix else name)
                    elif isinstance(mod, _NormBase) and mod.track_running_stats:
                        with contextlib.ExitStack() as stack:  # eval-mode graphs save these
                            for t in mod.buffers(recurse=False):
                                stack.enter_context(keep_version(t))
                            mod.reset_running_stats()
                        seen.update(id(t) for t in mod.buffers(recurse=False))
                        reset.append(prefix or type(mod).__name__)
                    else:
                        left.append(f"{prefix}.{name}" if prefix else name)
    out = [f"{', '.join(restored)} restored from the good state of step {state.step}"] if restored else []
    out += [f"running statistics of {', '.join(reset)} reset (the next training steps re-estimate them)"] if reset else []
    out += [f"{', '.join(left)} left non-finite (no good copy)"] if left else []
    return "non-finite buffers written by the skipped step's forward: " + "; ".join(out) if out else None
