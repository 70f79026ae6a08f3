"""Healthy: a loss spike that recovers on its own.

A regression MLP whose data stream has a burst of hard (but finite, in-range) samples
around step 30: a batch of targets from a shifted regime makes the loss jump ~50x for a
couple of steps, then training recovers. Everything stays finite: a spike is not a NaN,
and the guard must not intervene or report a failure.
"""
# nansentry-scenario: {"cause": "healthy", "phase": null, "op": null, "module": null, "samples": [], "recoverable": false, "heldout": false, "step": null}
import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(2048, 8)
y = torch.tanh(x[:, :1] + 0.5 * x[:, 1:2])
model = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 1))
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
losses = []
for step in range(80):
    idx = torch.randint(0, 2048, (32,))
    xb, yb = x[idx], y[idx]
    if 30 <= step < 32:
        yb = yb * -6.0 + 3.0  # a burst of samples from another regime
    loss = nn.functional.mse_loss(model(xb), yb)
    loss.backward()
    opt.step()
    opt.zero_grad()
    losses.append(loss.item())
    if step % 10 == 0 or 29 <= step <= 34:
        print(f"step {step} loss {loss.item():.4f}")
print(f"final_loss={sum(losses[-10:]) / 10}")
