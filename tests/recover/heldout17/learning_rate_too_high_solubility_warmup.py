"""Aqueous-solubility regression from molecular fingerprints, HF-style.

Model: ``FingerprintRegressor``, a Hugging-Face style module whose
``forward(input_bits, labels=None)`` returns a ``RegressionOutput``
dataclass (``loss``, ``logits``, ``hidden_states``), like the
``...ForSequenceClassification`` heads with ``num_labels=1``.  The body is a
512 -> 256 dense layer with GELU and a 256 -> 1 regression head; the loss
is MSE against the standardised log-solubility.  The user registers
forward hooks on the dense layer and on the head that record the RMS of
their outputs for the progress log.  Training runs in a helper
``train(model, train_loader, val_loader, ...)``: SGD with momentum 0.9, a
linear warm-up over the first 60 steps to a peak learning rate of 0.5
followed by linear decay to 0 at step 300 (a LambdaLR in the style of
``get_linear_schedule_with_warmup``), a fixed 300 steps over epochs of a
shuffled DataLoader (batch 64, drop_last=False, so each epoch ends with a
short batch of 4), validation every 30 steps under model.eval() +
torch.no_grad() and back to model.train().  Progress goes through the
``logging`` module.

Data: 2500 training and 500 validation "molecules", generated in-script:
512-bit Morgan-like fingerprints (each bit set with probability 1-10%) and a
log-solubility target built from additive substructure contributions, a
few pairwise interactions and noise.  The data are clean.

What goes wrong: a peak learning rate of 0.5 is far too large for SGD with
momentum on these inputs.  While the warm-up keeps the step size small the
run trains normally (loss 1.0 at step 0 -> ~0.3 over steps 20-39), but
once the learning rate passes ~0.35 (step 40) the loss starts to oscillate
between ~0.2 and ~1.0, the oscillation grows as the rate reaches its peak
(step 59), and from step 70 the weights blow up geometrically (loss 3.4,
8.9, 20, 65, 1.4e3, 1.9e8, 2.8e23): at step 77 (counted from 0) the loss
overflows to inf and that update makes the parameters NaN; every later
loss is NaN.  The learning-rate decay comes too late to save the run.

--clean: uses a peak learning rate of 0.05 (same warm-up and decay);
nothing else changes.  The run then trains to a mean training loss of
~0.014 over the last 20 steps (validation loss ~0.025).
"""
# recover-heldout: {"category": "learning_rate_too_high", "nan_step": 77}

import argparse
import logging
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

logger = logging.getLogger("solubility")

N_BITS = 512


@dataclass
class RegressionOutput:
    loss: Optional[torch.Tensor] = None
    logits: Optional[torch.Tensor] = None
    hidden_states: Optional[torch.Tensor] = None

    def __getitem__(self, key):
        return getattr(self, key)


def make_molecules(n, seed=7):
    g = torch.Generator().manual_seed(seed)
    bit_freq = 0.01 + 0.09 * torch.rand(N_BITS, generator=g)
    bits = (torch.rand(n, N_BITS, generator=g) < bit_freq).float()
    contrib = torch.randn(N_BITS, generator=g) * (torch.rand(N_BITS, generator=g) < 0.3).float()
    pairs = torch.randint(0, N_BITS, (40, 2), generator=g)
    y = bits @ contrib
    y = y + 0.8 * (bits[:, pairs[:, 0]] * bits[:, pairs[:, 1]]).sum(1)
    y = y + 0.3 * torch.randn(n, generator=g)
    y = (y - y.mean()) / y.std()
    return bits, y


class FingerprintRegressor(nn.Module):
    def __init__(self, n_bits=N_BITS, hidden=256):
        super().__init__()
        self.dense = nn.Linear(n_bits, hidden)
        self.act = nn.GELU()
        self.regressor = nn.Linear(hidden, 1)

    def forward(self, input_bits, labels=None):
        h = self.act(self.dense(input_bits))
        logits = self.regressor(h).squeeze(-1)
        loss = F.mse_loss(logits, labels) if labels is not None else None
        return RegressionOutput(loss=loss, logits=logits, hidden_states=h)


def linear_warmup_decay(warmup, total):
    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / (total - warmup))
    return factor


def evaluate(model, loader):
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for bits, y in loader:
            out = model(input_bits=bits, labels=y)
            total += out.loss.item() * len(y)
            n += len(y)
    model.train()
    return total / n


def train(model, train_loader, val_loader, peak_lr, total_steps=300, warmup=60, eval_every=30):
    optimizer = torch.optim.SGD(model.parameters(), lr=peak_lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_warmup_decay(warmup, total_steps))

    act_rms = {}

    def make_hook(name):
        def hook(module, inputs, output):
            act_rms[name] = output.detach().pow(2).mean().sqrt().item()
        return hook

    handles = [model.dense.register_forward_hook(make_hook("dense")),
               model.regressor.register_forward_hook(make_hook("regressor"))]

    losses = []
    step, epoch = 0, 0
    model.train()
    while step < total_steps:
        for bits, y in train_loader:
            if step >= total_steps:
                break
            out = model(input_bits=bits, labels=y)
            loss = out["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            if step % 20 == 0:
                logger.info("epoch %d step %3d lr %.4f loss %.4f | rms dense %.3g regressor %.3g",
                            epoch, step, scheduler.get_last_lr()[0], losses[-1],
                            act_rms["dense"], act_rms["regressor"])
            if (step + 1) % eval_every == 0:
                logger.info("step %3d val_loss %.4f", step, evaluate(model, val_loader))
            step += 1
        epoch += 1
    for h in handles:
        h.remove()
    return losses


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="use a sensible peak learning rate (0.05)")
    args = parser.parse_args()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(1)
    torch.manual_seed(0)

    bits, y = make_molecules(3000)
    train_ds = TensorDataset(bits[:2500], y[:2500])
    val_ds = TensorDataset(bits[2500:], y[2500:])
    train_loader = DataLoader(train_ds, batch_size=64, shuffle=True, drop_last=False)
    val_loader = DataLoader(val_ds, batch_size=250)

    model = FingerprintRegressor()
    peak_lr = 0.05 if args.clean else 0.5
    losses = train(model, train_loader, val_loader, peak_lr=peak_lr)
    logger.info("final val_loss %.4f", evaluate(model, val_loader))

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
