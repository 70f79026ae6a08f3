"""Healthy: float16 autocast on CPU with torch.amp.GradScaler.

An MLP under torch.autocast("cpu", dtype=torch.float16) with a GradScaler (init_scale
2**10, growth every 8 steps). The values stay well inside the float16 range, the scaler
never has to skip a step, and the run stays finite.
"""
# nansentry-scenario: {"cause": "healthy", "phase": null, "op": null, "module": null, "samples": [], "recoverable": false, "heldout": false, "step": null}
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
x = torch.randn(384, 16)
y = (x[:, :4].sum(1) > 0).long()
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=8)
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(4):
    for xb, yb in loader:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = nn.functional.cross_entropy(model(xb).float(), yb)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f} scale {scaler.get_scale():.0f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
