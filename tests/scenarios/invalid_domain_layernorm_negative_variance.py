"""A hand-written LayerNorm computing var = E[x^2] - E[x]^2, then sqrt.

The one-pass variance formula cancels catastrophically when a row's mean is large compared
with its spread: for the flat-lined sensor windows in the data (dataset indices 45 and
200: a constant reading near 300 plus a tiny ripple) E[x^2] - E[x]^2 comes out slightly
negative in float32 and sqrt gives NaN inside module "blocks.0.norm". Held out: numerical
cancellation, degenerate-but-valid samples, not a user-visible negative.
Fix: x.var(unbiased=False) / nn.LayerNorm (two-pass, clamped). --clean uses the two-pass variance.
"""
# nansentry-scenario: {"cause": "invalid_domain", "phase": "forward", "op": "sqrt", "module": "blocks.0.norm", "samples": [200], "recoverable": true, "heldout": true, "step": 7}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="two-pass variance")
args = parser.parse_args()
torch.manual_seed(0)
FLAT = [45, 200]


class OnePassNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        mean = x.mean(-1, keepdim=True)
        var = (x * x).mean(-1, keepdim=True) - mean * mean
        if args.clean:
            var = x.var(-1, unbiased=False, keepdim=True)
        return (x - mean) / torch.sqrt(var + 1e-12) * self.weight  # EXPECT-NAN


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm = OnePassNorm(d)
        self.fc = nn.Linear(d, d)

    def forward(self, x):
        return x + torch.relu(self.fc(self.norm(x)))


class Windows(Dataset):
    def __init__(self, n=256, d=32):
        self.x = torch.randn(n, d) * 2
        self.y = (self.x[:, :4].sum(1) > 0).long()
        for i in FLAT:
            self.x[i] = 300.0 + 1e-3 * torch.randn(d)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


model = nn.Sequential()
model.add_module("blocks", nn.Sequential(Block(32), Block(32)))
model.add_module("head", nn.Linear(32, 2))
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
loader = DataLoader(Windows(), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(5):
    for x, y in loader:
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
