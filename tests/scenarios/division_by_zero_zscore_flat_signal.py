"""ECG-like beat classifier that standardises each signal inside the model (x - mean) / std.

The model's first module z-scores every input window. Two recordings in the dataset are
flat lines (a disconnected lead: constant value, std exactly 0, indices 12 and 141), so the
module divides 0 by 0 -> NaN (forward, module "prep", op div). Held out: degenerate but
valid samples, conv1d model, the division is a preprocessing step inside the model.
Fix: (x - mean) / (std + eps), or drop flat recordings. --clean adds the eps.
"""
# nansentry-scenario: {"cause": "division_by_zero", "phase": "forward", "op": "div", "module": "prep", "samples": [141], "recoverable": true, "heldout": true, "step": 0}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="eps in the z-score")
args = parser.parse_args()
torch.manual_seed(0)
FLAT = [12, 141]


class Beats(Dataset):
    def __init__(self, n=224, length=64):
        t = torch.linspace(0, 6.28, length)
        self.y = torch.randint(0, 3, (n,))
        freq = 1.0 + self.y.float()
        self.x = torch.sin(freq[:, None] * t) * (1 + torch.rand(n, 1)) + 0.1 * torch.randn(n, length)
        self.x[FLAT] = 0.37  # flat line: constant reading

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i].unsqueeze(0), self.y[i]


class ZScore(nn.Module):
    def forward(self, x):
        if args.clean:
            return (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + 1e-5)
        return (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True)  # EXPECT-NAN


class BeatNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.prep = ZScore()
        self.conv = nn.Sequential(nn.Conv1d(1, 8, 7, padding=3), nn.ReLU(), nn.MaxPool1d(4),
                                  nn.Conv1d(8, 16, 5, padding=2), nn.ReLU(), nn.AdaptiveMaxPool1d(1))
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.conv(self.prep(x)).flatten(1))


model = BeatNet()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
loader = DataLoader(Beats(), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(4):
    for x, y in loader:
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
