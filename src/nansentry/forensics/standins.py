"""Stand-ins: run the user's modules on other values without writing into the user's tensors.

Writing a parameter or buffer in place, even only to put its value back afterwards, bumps
its autograd version counter. A graph the user still holds that saved it then fails in the
user's own `backward()` ("modified by an inplace operation"): a GAN's generator output is
made before the critic's optimizer step, where forensics runs, and back-propagated after
it. So forensics never writes the user's tensors: it puts other tensor objects into the
modules' parameter and buffer slots for the time it needs them, then puts the user's
objects back, untouched.
"""

from __future__ import annotations

import contextlib
from typing import Iterable, Iterator, Sequence

import torch

_active: dict[int, torch.Tensor] = {}  # id(user tensor) -> its stand-in, while one is in place


def substitute(t: torch.Tensor) -> torch.Tensor:
    """The stand-in of `t` while one is in place (a loss op that reads a parameter directly)."""
    return _active.get(id(t), t)


@contextlib.contextmanager
def stand_ins(modules: Iterable[torch.nn.Module], values: Sequence[tuple[torch.Tensor, torch.Tensor]] = (),
              parameters: bool = True, buffers: bool = True) -> Iterator[dict[int, torch.Tensor]]:
    """Swap the parameters and/or buffers of `modules` for copies: of the value paired with the
    tensor in `values` where there is one, else of the tensor itself. A tensor of `values` in
    no module's slot (a learnable temperature the loss code reads) gets its stand-in through
    `substitute`. Yields {id(user tensor): stand-in}; the stand-ins may be written freely (a
    re-initialisation, a BatchNorm's running statistics)."""
    given = {id(live): v for live, v in values}
    made: dict[int, torch.Tensor] = {}
    slots: list[tuple[dict, str, torch.Tensor]] = []
    kinds = [k for k, on in (("_parameters", parameters), ("_buffers", buffers)) if on]
    global _active
    outer = _active
    try:
        for m in modules:
            for sub in m.modules():
                for kind in kinds:
                    slot = getattr(sub, kind)
                    for name, t in list(slot.items()):
                        if t is None:
                            continue
                        if id(t) not in made:
                            made[id(t)] = _copy(t, given.get(id(t)))
                        slots.append((slot, name, t))
                        slot[name] = made[id(t)]
        for live, v in values:
            made.setdefault(id(live), _copy(live, v))
        _active = {**outer, **made}
        yield made
    finally:
        for slot, name, t in reversed(slots):
            slot[name] = t
        _active = outer


def _copy(t: torch.Tensor, value: torch.Tensor | None) -> torch.Tensor:
    src = t if value is None else value
    new = src.detach().to(device=t.device, dtype=t.dtype, copy=True)
    if isinstance(t, torch.nn.Parameter):
        return torch.nn.Parameter(new, requires_grad=t.requires_grad)
    return new
