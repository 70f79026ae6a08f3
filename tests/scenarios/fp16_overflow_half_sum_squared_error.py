"""A float16 regression whose hand-written loss sums squared errors in half precision.

Model and data are .half(); the loss is ((pred - y)**2).sum() computed in float16 on
targets in physical units (~30-200 N). Each squared error is fine (< 65504) but their sum
over the batch exceeds the float16 maximum: sum returns inf in the loss phase (op sum).
Held out: the overflow is in a reduction in the loss, not an activation.
Fix: compute the loss in float32 (pred.float()), use mean, or scale targets.
"""
# nansentry-scenario: {"cause": "fp16_overflow", "phase": "loss", "op": "sum", "module": null, "samples": [], "recoverable": false, "heldout": true, "step": 0}
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
n = 256
x = torch.rand(n, 6)
force = 30 + 170 * x[:, :1] * x[:, 1:2] + 5 * torch.randn(n, 1)

model = nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 1)).half()
opt = torch.optim.SGD(model.parameters(), lr=1e-5)
loader = DataLoader(TensorDataset(x.half(), force.half()), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(4):
    for xb, yb in loader:
        loss = ((model(xb) - yb) ** 2).sum()  # EXPECT-NAN
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4g}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
