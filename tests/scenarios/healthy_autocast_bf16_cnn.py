"""Healthy: CPU mixed precision with torch.autocast("cpu", dtype=torch.bfloat16).

A small CNN classifier; convs and matmuls run in bfloat16 under autocast, the loss in
float32. bfloat16 has float32's exponent range, so nothing overflows; the guard must not
mistake reduced precision for a problem.
"""
# nansentry-scenario: {"cause": "healthy", "phase": null, "op": null, "module": null, "samples": [], "recoverable": false, "heldout": false, "step": null}
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
y = torch.randint(0, 3, (320,))
img = torch.rand(320, 1, 12, 12) * 0.3
img[torch.arange(320), 0, 3 * y + 1, :] += 1.0
model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                      nn.Flatten(), nn.Linear(16, 3))
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
loader = DataLoader(TensorDataset(img, y), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(4):
    for x, t in loader:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(x)
        loss = nn.functional.cross_entropy(logits.float(), t)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
