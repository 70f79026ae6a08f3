"""Trajectory GRU with a per-timestep Euclidean error, masked *before* the sqrt.

Predicted and true 2-D positions are both multiplied by the padding mask, then the loss
takes sqrt(((pred - true)**2).sum(-1)) per timestep. At padded steps both are exactly 0:
the distance is 0 (finite), but the backward of sqrt there is 1/(2*0) = inf, and the
incoming gradient 0 * inf = NaN flows back through `pred * mask` (0 * NaN = NaN) into the
GRU. The forward loss is fine; the weights turn NaN. Not sample-specific (every batch has
padding). Held out: recurrent model, loss-phase masking bug, not a degenerate sample.
Fix: mask the distance, not the inputs: (sqrt(d2 + eps) * mask).sum() / mask.sum().
"""
# nansentry-scenario: {"cause": "singular_gradient", "phase": "backward", "op": "sqrt", "module": null, "samples": [], "recoverable": false, "heldout": true, "step": 0}
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
n, T = 256, 20
vel = torch.randn(n, 1, 2) * 0.3
pos = torch.cumsum(vel.expand(n, T, 2) + 0.05 * torch.randn(n, T, 2), 1)
length = torch.randint(8, T + 1, (n,))
mask = (torch.arange(T)[None] < length[:, None]).float()


class Tracker(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(2, 32, batch_first=True)
        self.out = nn.Linear(32, 2)

    def forward(self, p):
        h, _ = self.rnn(p)
        return p + self.out(h)  # predict the next position


model = Tracker()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
loader = DataLoader(TensorDataset(pos, mask), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(3):
    for p, m in loader:
        pred = model(p[:, :-1]) * m[:, 1:, None]
        true = p[:, 1:] * m[:, 1:, None]
        dist = torch.sqrt(((pred - true) ** 2).sum(-1))  # EXPECT-NAN
        loss = dist.sum() / m[:, 1:].sum()
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
