"""Count regression with a hand-written Poisson NLL on an unconstrained rate.

The model predicts the rate with a plain Linear output (no softplus/exp) and the loss is
rate - y * log(rate). As soon as one prediction goes below zero, log of a negative number
is NaN (loss phase, op log). Fix: predict log-rate and use F.poisson_nll_loss(log_input=True)
or a softplus output.
"""
# nansentry-scenario: {"cause": "invalid_domain", "phase": "loss", "op": "log", "module": null, "samples": [], "recoverable": false, "heldout": false, "step": 0}
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
n = 512
x = torch.randn(n, 6)
rate = torch.exp(0.5 * x[:, 0] - 0.3 * x[:, 1] + 0.5)
y = torch.poisson(rate).unsqueeze(1)

model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
with torch.no_grad():
    model[2].bias.fill_(0.5)  # "start near the mean log-count"
opt = torch.optim.SGD(model.parameters(), lr=0.05)
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(5):
    for xb, yb in loader:
        pred_rate = model(xb)
        loss = (pred_rate - yb * torch.log(pred_rate)).mean()  # EXPECT-NAN
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
