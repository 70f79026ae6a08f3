"""What the watcher keeps of the current step so forensics can replay it exactly.

Only references are kept (no copies): the batches the DataLoader yielded with their
dataset indices, the arguments and RNG state of each root-module forward call, the
losses passed to backward. Parameters need no copy: gradients are checked *before*
the optimizer step, so at that moment parameters are still the ones the step used.
Memory cost on healthy steps: the step's batches and root-forward inputs live until
the next step begins instead of being freed a little earlier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class BatchRef:
    """A batch as the DataLoader yielded it, with the dataset indices it holds."""

    batch: Any
    indices: list[Any] | None  # None when unknown (IterableDataset, unordered workers)
    n_float: int = 0  # floating tensors in the batch, in `iter_float_tensors` order


@dataclass
class RootCall:
    """One call of a root module (one not called from inside another module)."""

    module: torch.nn.Module
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    cpu_rng: torch.Tensor
    cuda_rng: list[torch.Tensor] | None
    grad_enabled: bool
    autocast: dict[str, Any] | None = None
    output: Any = None
    # flat (args, kwargs) with the tensors an earlier call or loss op of this step made as
    # Ref/Out (a loss module called on the model's output); None when there are none
    arg_refs: list[Any] | None = None


@dataclass
class StepSnapshot:
    """Everything of one optimizer step that a replay needs."""

    step: int
    batches: list[BatchRef] = field(default_factory=list)
    root_calls: list[RootCall] = field(default_factory=list)
    losses: list[torch.Tensor] = field(default_factory=list)
    loss_ops: list[Any] | None = None  # recorded ops between model output and backward
    optimizer: torch.optim.Optimizer | None = None
    optimizers: list[torch.optim.Optimizer] = field(default_factory=list)

    def clear(self, step: int) -> None:
        self.step = step
        self.batches = []
        self.root_calls = []
        self.losses = []
        self.loss_ops = None
        self.optimizer = None
        self.optimizers = []
