"""Real-world tabular data with a few corrupt rows (NaN features from a failed parse).

A regression MLP over a map-style Dataset with DataLoader(shuffle=True). Rows 41, 170 and
333 hold NaN in some features (missing values written as NaN by the export); the first
batch containing one of them turns the loss into NaN and, after optimizer.step(), every
weight. Fix: drop or impute the bad rows (--clean drops them); skipping/quarantining the
samples lets the run finish.
"""
# nansentry-scenario: {"cause": "dirty_data", "phase": "data", "op": null, "module": null, "samples": [41, 333], "recoverable": true, "heldout": false, "step": 0}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="drop the corrupt rows")
args = parser.parse_args()
torch.manual_seed(0)
BAD_INDICES = [41, 170, 333]


class Table(Dataset):
    def __init__(self, n=400, d=10):
        self.x = torch.randn(n, d)
        self.y = self.x @ torch.randn(d, 1) * 0.5 + 0.1 * torch.randn(n, 1)
        self.x[41, 3] = float("nan")
        self.x[170, [0, 7]] = float("nan")
        self.x[333, 9] = float("nan")
        self.keep = [i for i in range(n) if not (args.clean and i in BAD_INDICES)]

    def __len__(self):
        return len(self.keep)

    def __getitem__(self, i):
        i = self.keep[i]
        return self.x[i], self.y[i]


loader = DataLoader(Table(), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)

losses, step = [], 0
for epoch in range(6):
    for x, y in loader:
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
