"""House prices regression on raw features (square feet ~1e3, lot size ~1e4, price ~1e5).

Nothing is normalised: the first SGD updates are proportional to inputs of order 1e4 times
errors of order 1e5, the prediction overshoots by orders of magnitude each step and the
squared error overflows float32 within a few steps. Fix: standardise features and targets
(--clean does; then the same lr trains fine; it prints its final loss in dollars^2, the
broken run's units).
"""
# nansentry-scenario: {"cause": "unscaled_data", "phase": "loss", "op": "mse_loss", "module": null, "samples": [], "recoverable": false, "heldout": false, "step": 1}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="standardise features and target")
args = parser.parse_args()
torch.manual_seed(0)
n = 512
sqft = 800 + 2500 * torch.rand(n)
lot = 2000 + 20000 * torch.rand(n)
rooms = torch.randint(1, 7, (n,)).float()
year = 1950 + 70 * torch.rand(n)
x = torch.stack([sqft, lot, rooms, year], 1)
price = (120 * sqft + 3 * lot + 8000 * rooms + 500 * (year - 1950) + 20000 * torch.randn(n)).unsqueeze(1)
if args.clean:
    x = (x - x.mean(0)) / x.std(0)
    unit = price.std() ** 2  # standardised MSE -> dollars^2
    price = (price - price.mean()) / price.std()

loader = DataLoader(TensorDataset(x, price), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=1e-2)

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
print(f"final_loss={sum(losses[-10:]) / 10 * (float(unit) if args.clean else 1.0)}")
