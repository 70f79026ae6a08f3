"""Bearing-fault 1-D CNN: per-window z-score turns flat-lined sensor windows into nan.

Model: a small 1-D CNN (Conv1d -> ReLU -> MaxPool, Conv1d -> ReLU, global
average pool, Linear) classifying 128-sample accelerometer windows into 4
machine states (healthy / inner-race fault / outer-race fault / imbalance).
The forward pass standardises every window on its own:
    x = (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True)
Map-style Dataset, DataLoader(shuffle=True, batch_size=32), Adam lr=1e-3,
200 optimizer steps.

What goes wrong: the data are all finite and correctly labelled, but three
of the 800 training windows (dataset indices 118, 431 and 694) are flat
lines: the accelerometer dropped out (the logger writes exactly 0.0) or sat
at the +2.5 V rail for the whole window.  For those windows x - mean is 0 and
x.std() is exactly 0, so the standardisation computes 0 / 0 = nan.  The
first shuffled batch that contains one of them (optimizer step 12, window
431) gives nan logits for that window and a nan batch loss; backward sends
nan into every gradient, Adam writes nan into all weights and every later
loss is nan.
final_loss is nan.

--clean: the user's fix is to stop normalising each window by its own
spread and instead standardise with the training set's global mean/std
(computed once and stored as buffers in the model), which is well defined
for every window, flat ones included.  All 800 windows are kept.
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [118, 431, 694], "nan_step": 12}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

WINDOW = 128
FS = 1000.0  # Hz
STATE_FREQS = {0: [30.0], 1: [30.0, 162.0], 2: [30.0, 107.0], 3: [30.0, 60.0, 90.0]}
FLATLINED = {118: 0.0, 431: 2.5, 694: 0.0}  # sensor dropout / stuck at the rail


def record_windows(n, gen, flat=None):
    t = torch.arange(WINDOW) / FS
    x = torch.empty(n, WINDOW)
    y = torch.randint(0, 4, (n,), generator=gen)
    for i in range(n):
        amp = 0.2 + 1.8 * float(torch.rand(1, generator=gen))
        sig = torch.zeros(WINDOW)
        for k, f in enumerate(STATE_FREQS[int(y[i])]):
            f = f * (1 + 0.05 * float(torch.randn(1, generator=gen)))
            ph = 2 * math.pi * float(torch.rand(1, generator=gen))
            sig += (1.0 if k == 0 else 0.6) * torch.sin(2 * math.pi * f * t + ph)
        x[i] = amp * sig + 0.1 * torch.randn(WINDOW, generator=gen)
    for i, level in (flat or {}).items():
        x[i] = level
    return x, y


class VibrationDataset(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, idx):
        return self.x[idx].unsqueeze(0), self.y[idx]  # (1, WINDOW)


class FaultCNN(nn.Module):
    def __init__(self, global_mean=None, global_std=None):
        super().__init__()
        self.per_window_norm = global_mean is None
        if not self.per_window_norm:
            self.register_buffer("mean", torch.tensor(float(global_mean)))
            self.register_buffer("std", torch.tensor(float(global_std)))
        self.conv1 = nn.Conv1d(1, 16, 7, padding=3)
        self.conv2 = nn.Conv1d(16, 32, 5, padding=2)
        self.fc = nn.Linear(32, 4)

    def forward(self, x):
        if self.per_window_norm:
            x = (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True)
        else:
            x = (x - self.mean) / self.std
        x = F.max_pool1d(F.relu(self.conv1(x)), 2)
        x = F.relu(self.conv2(x))
        return self.fc(x.mean(-1))


def main():
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true",
                        help="standardise with train-set statistics instead of per window")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(11)
    train_x, train_y = record_windows(800, gen, flat=FLATLINED)
    val_x, val_y = record_windows(200, gen)

    loader = DataLoader(VibrationDataset(train_x, train_y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(2))
    if args.clean:
        model = FaultCNN(global_mean=train_x.mean(), global_std=train_x.std())
    else:
        model = FaultCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    losses = []
    step = 0
    for epoch in range(args.epochs):
        model.train()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if step % 15 == 0:
                print(f"epoch {epoch} step {step:4d} loss {loss.item():.4f}")
            step += 1
        model.eval()
        with torch.no_grad():
            acc = (model(val_x.unsqueeze(1)).argmax(1) == val_y).float().mean().item()
        print(f"epoch {epoch} val_acc {acc:.3f}")

    last = losses[-10:]
    print(f"final_loss={sum(last) / len(last)}")


if __name__ == "__main__":
    main()
