"""A residual MLP (24 pre-activation blocks, no normalisation) with N(0, 1) weights.

x <- x + fc2(relu(fc1(x))). With unit-variance weights each residual branch is ~45x
larger than its input, so the residual stream grows block by block and overflows float32
at the first forward. Held out: residual connections (growth is additive-then-
multiplicative), dict output, Adam. Fix: scaled init (fc2 zero-init or std/sqrt(depth));
--clean uses Kaiming for fc1 and zeros for fc2.
"""
# nansentry-scenario: {"cause": "bad_initialization", "phase": "forward", "op": "addmm", "module": "blocks.22.fc2", "samples": [], "recoverable": false, "heldout": true, "step": 0}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="scaled init")
args = parser.parse_args()
torch.manual_seed(0)


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, d), nn.Linear(d, d)
        if args.clean:
            nn.init.kaiming_normal_(self.fc1.weight)
            nn.init.zeros_(self.fc2.weight)
        else:
            nn.init.normal_(self.fc1.weight)
            nn.init.normal_(self.fc2.weight)

    def forward(self, x):
        return x + self.fc2(torch.relu(self.fc1(x)))  # EXPECT-NAN


class ResMLP(nn.Module):
    def __init__(self, d=64, depth=24):
        super().__init__()
        self.inp = nn.Linear(10, d)
        self.blocks = nn.Sequential(*[Block(d) for _ in range(depth)])
        self.out = nn.Linear(d, 1)

    def forward(self, x):
        h = self.blocks(self.inp(x))
        return {"pred": self.out(h).squeeze(1), "features": h}


x = torch.randn(256, 10)
y = x[:, :3].sum(1)
model = ResMLP()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(3):
    for xb, yb in loader:
        loss = nn.functional.mse_loss(model(xb)["pred"], yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4g}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
