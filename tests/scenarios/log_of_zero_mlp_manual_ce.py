"""Hand-written cross-entropy on an MLP: -sum(y * log(softmax(z))).

The most common NaN in the studies (GRIST/RANUM): the loss is written by hand instead of
F.cross_entropy / log_softmax. Features are large-ish (std 8) and Adam lr=0.05 quickly makes
the logits confident; once a wrong class is ~104 logits below the max its softmax
probability underflows to exactly 0.0 in float32, log(0) = -inf and 0 * -inf = NaN.
Fix: F.cross_entropy(logits, y) (log-softmax). Not data-specific.
"""
# nansentry-scenario: {"cause": "log_of_zero", "phase": "loss", "op": "log", "module": null, "samples": [], "recoverable": false, "heldout": false, "step": 4}
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
n, d, k = 512, 20, 5
y = torch.randint(0, k, (n,))
x = torch.randn(k, d)[y] * 8 + torch.randn(n, d) * 2
loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)

model = nn.Sequential(nn.Linear(d, 64), nn.ReLU(), nn.Linear(64, k))
opt = torch.optim.Adam(model.parameters(), lr=0.05)

losses, step = [], 0
for epoch in range(8):
    for xb, yb in loader:
        probs = F.softmax(model(xb), dim=1)
        onehot = F.one_hot(yb, k).float()
        loss = -(onehot * torch.log(probs)).sum(1).mean()  # EXPECT-NAN
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
