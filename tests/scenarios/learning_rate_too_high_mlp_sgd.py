"""A regression MLP with SGD at lr=1.0: every update overshoots.

Standardised inputs and targets (nothing wrong with the data); lr=1.0 is far beyond the
stable step for this loss curvature. The loss and the weight norm grow step after step
(geometrically) until the second Linear layer's output overflows (module "2"). Stable with lr/100 (--clean).
"""
# nansentry-scenario: {"cause": "learning_rate_too_high", "phase": "forward", "op": "addmm", "module": "2", "samples": [], "recoverable": true, "heldout": false, "step": 8}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="use lr / 100")
args = parser.parse_args()
torch.manual_seed(0)
n = 512
x = torch.randn(n, 8)
y = torch.sin(x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3]
y = (y - y.mean()) / y.std()

model = nn.Sequential(nn.Linear(8, 64), nn.LeakyReLU(0.2), nn.Linear(64, 64), nn.LeakyReLU(0.2), nn.Linear(64, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.01 if args.clean else 1.0)
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(5):
    for xb, yb in loader:
        loss = nn.functional.mse_loss(model(xb), yb)  # EXPECT-NAN
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4g}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
