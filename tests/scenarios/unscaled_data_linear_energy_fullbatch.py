"""Full-batch linear regression of household energy use (kWh ~1e4) from raw readings.

No DataLoader: the whole table is one tensor and each step is one gradient step
(momentum SGD) on all rows. Temperature is in tenths of a Kelvin (~2900), the meter reading
~1e4 kWh and the target ~1e4: the loss curvature is ~1e7, so lr 1e-4 that would be fine on
standardised data makes every step overshoot; the loss grows geometrically until it
overflows. Held out: no DataLoader, no hidden layer, full batch.
Fix: standardise inputs and target (--clean; it prints its final loss in kWh^2, the broken
run's units).
"""
# nansentry-scenario: {"cause": "unscaled_data", "phase": "loss", "op": "pow", "module": null, "samples": [], "recoverable": false, "heldout": true, "step": 4}
import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="standardise inputs and target")
args = parser.parse_args()
torch.manual_seed(0)
n = 2000
temp = 2730 + 300 * torch.rand(n)
meter = 5000 + 10000 * torch.rand(n)
occupants = torch.randint(1, 6, (n,)).float()
x = torch.stack([temp, meter, occupants], 1)
y = 0.8 * meter - 2 * (temp - 2900) + 300 * occupants + 100 * torch.randn(n)
if args.clean:
    x = (x - x.mean(0)) / x.std(0)
    unit = y.std() ** 2  # standardised MSE -> kWh^2
    y = (y - y.mean()) / y.std()

model = nn.Linear(3, 1)
opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.5)
losses = []
for step in range(120):
    pred = model(x).squeeze(1)
    loss = ((pred - y) ** 2).mean()  # EXPECT-NAN
    loss.backward()
    opt.step()
    opt.zero_grad()
    losses.append(loss.item())
    if step % 10 == 0:
        print(f"step {step} loss {loss.item():.4g}")
print(f"final_loss={sum(losses[-10:]) / 10 * (float(unit) if args.clean else 1.0)}")
