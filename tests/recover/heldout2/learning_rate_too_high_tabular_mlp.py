"""Tabular regression MLP with SGD + linear warm-up -- loss blows up to nan at step 61.

Model: a 4-layer GELU MLP (12 -> 128 -> 128 -> 64 -> 1) that predicts the
remaining capacity of battery cells from 12 standardised cycling features
(voltage/temperature statistics).  Targets are standardised too.  2048
training rows, DataLoader(batch_size=64, shuffle=True), 10 epochs = 320
optimizer steps, plus a small validation pass at the end of every epoch.

Optimizer: SGD(momentum=0.9) with a per-step LambdaLR schedule: linear
warm-up over the first 100 steps to a peak lr of 1.0, then cosine decay to 0.
The peak was taken from a large-batch recipe ("lr = 0.1 x batch/ 6.4").

What goes wrong: the loss goes down during the first ~50 steps of the
warm-up (~1.0 -> 0.3-0.5), but once the learning rate passes roughly 0.55
(step ~53) the SGD iterates start to oscillate with growing amplitude; the
loss shoots up within a few steps (2.8 -> 45 -> 2e5 -> 7e32) and is nan at
optimizer step 61 (lr 0.62), after which the weights are nan and every later
loss (and the validation loss) is nan.

--clean: the same script with the warm-up peak lowered to lr=0.1; nothing
else is changed.
"""
# recover-heldout: {"category": "learning_rate_too_high", "bad_samples": [], "nan_step": 61}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

N_FEATURES = 12


def make_cells(n, gen, w):
    X = torch.randn(n, N_FEATURES, generator=gen)
    y = (X @ w) / 3 + torch.sin(X[:, 0] * 2) + X[:, 1] * X[:, 2] * 0.5
    y = y + 0.1 * torch.randn(n, generator=gen)
    return X, y


def main():
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    w_true = torch.randn(N_FEATURES, generator=gen)
    X, y = make_cells(2048, gen, w_true)
    y_mean, y_std = y.mean(), y.std()
    y = (y - y_mean) / y_std
    Xv, yv = make_cells(256, torch.Generator().manual_seed(7), w_true)
    yv = (yv - y_mean) / y_std

    train_loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True,
                              generator=torch.Generator().manual_seed(0))
    val_loader = DataLoader(TensorDataset(Xv, yv), batch_size=256)

    model = nn.Sequential(
        nn.Linear(N_FEATURES, 128), nn.GELU(),
        nn.Linear(128, 128), nn.GELU(),
        nn.Linear(128, 64), nn.GELU(),
        nn.Linear(64, 1),
    )

    peak_lr = 0.1 if args.clean else 1.0
    warmup = 100
    total_steps = args.epochs * len(train_loader)
    optimizer = torch.optim.SGD(model.parameters(), lr=peak_lr, momentum=0.9)

    def lr_lambda(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / (total_steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)

    losses = []
    step = 0
    for epoch in range(args.epochs):
        model.train()
        for xb, yb in train_loader:
            pred = model(xb).squeeze(-1)
            loss = F.mse_loss(pred, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            if step % 20 == 0:
                print(f"step {step:4d}  lr {optimizer.param_groups[0]['lr']:.4f}  loss {loss.item():.4f}")
            step += 1

        model.eval()
        with torch.no_grad():
            val = sum(F.mse_loss(model(xb).squeeze(-1), yb, reduction="sum").item()
                      for xb, yb in val_loader) / len(val_loader.dataset)
        print(f"epoch {epoch}  val_mse {val:.4f}")

    print(f"final_loss={sum(losses[-10:]) / len(losses[-10:])}")


if __name__ == "__main__":
    main()
