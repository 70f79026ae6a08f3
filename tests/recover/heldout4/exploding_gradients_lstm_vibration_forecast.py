"""One-step-ahead vibration forecaster (2-layer LSTM): gradient norm explodes mid-run, loss -> inf -> nan.

Model: nn.LSTM(1, 32, num_layers=2) + linear head, trained with truncated
BPTT over whole 150-step windows of an accelerometer-like signal (two
sinusoids of random frequency/phase plus sensor noise) to predict the next
sample at every time step (MSE).  Optimizer: SGD with momentum 0.9 under a
OneCycleLR schedule (max_lr=2.5, found with an LR range test), 200 optimizer
steps in total, no gradient clipping.

What goes wrong: the first ~35 steps look fine (loss 1.0 -> 0.14).  While the
one-cycle schedule ramps the learning rate up (lr ~1.9 at step 40), the
LSTM's recurrent weights grow, the 150-step backward pass starts to amplify
and the gradient norm jumps from ~1 to 1e2 .. 1e17 within about fifteen
steps; every SGD step makes the next gradient ~1000x bigger (loss 13 at step
40, 3e20 at step 50).  The MSE overflows to inf at optimizer step 55, a few
steps later inf/nan gradients put nan into the weights and every following
loss is nan.  final_loss is nan.

--clean: clip the gradient norm before every optimizer step
(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5));
everything else is identical.  The loss then goes 1.0 -> ~0.01.
"""
# recover-heldout: {"category": "exploding_gradients", "bad_samples": [], "nan_step": 55}

import argparse
import math

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

SEQ_LEN = 150


def make_vibration_windows(n, seq_len, gen):
    t = torch.arange(seq_len + 1, dtype=torch.float32)
    freq = 0.05 + 0.25 * torch.rand(n, 2, 1, generator=gen)
    phase = 2 * math.pi * torch.rand(n, 2, 1, generator=gen)
    sig = torch.sin(freq * t + phase).sum(1)
    sig = sig + 0.05 * torch.randn(n, seq_len + 1, generator=gen)
    x = sig[:, :-1].unsqueeze(-1)  # (n, T, 1)
    y = sig[:, 1:].unsqueeze(-1)  # next sample
    return x, y


class Forecaster(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out)


def main():
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true",
                        help="clip the gradient norm to 0.5 before each step")
    parser.add_argument("--epochs", type=int, default=25)
    args = parser.parse_args()

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    x, y = make_vibration_windows(256, SEQ_LEN, gen)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(7))

    model = Forecaster()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    total_steps = args.epochs * len(loader)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2.5,
                                                    total_steps=total_steps)
    loss_fn = nn.MSELoss()

    losses = []
    step = 0
    for epoch in range(args.epochs):
        for xb, yb in loader:
            pred = model(xb)
            loss = loss_fn(pred, yb)
            optimizer.zero_grad()
            loss.backward()
            if args.clean:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            if step % 10 == 0:
                print(f"epoch {epoch:2d} step {step:4d} lr {scheduler.get_last_lr()[0]:.3f} "
                      f"loss {loss.item():.5g}")
            step += 1

    last = losses[-10:]
    print(f"final_loss={sum(last) / len(last)}")


if __name__ == "__main__":
    main()
