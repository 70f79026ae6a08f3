"""Event-count model with a hand-written Poisson loss exp(log_rate) - y * log_rate.

The network predicts log-rates (good), but the loss exponentiates them itself. Counts in
this dataset are heavy-tailed (up to ~1e4 for a few busy stores) and with SGD lr 1e-3 the
big counts push some log-rates past 88.7 within a few steps: exp overflows to inf in the
loss (op exp). Fix: F.poisson_nll_loss(log_input=True) does the same math but the real fix
is a smaller step on log-scale targets / clamping log_rate.
"""
# nansentry-scenario: {"cause": "exp_overflow", "phase": "loss", "op": "exp", "module": null, "samples": [], "recoverable": false, "heldout": false, "step": 9}
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
n = 512
x = torch.randn(n, 8)
log_mu = 1.0 + 1.5 * x[:, 0] + x[:, 1].clamp(min=0) * 2.5
y = torch.poisson(torch.exp(log_mu)).unsqueeze(1)

model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=1e-3)
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(5):
    for xb, yb in loader:
        log_rate = model(xb)
        loss = (torch.exp(log_rate) - yb * log_rate).mean()  # EXPECT-NAN
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4g}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
