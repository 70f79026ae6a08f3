"""Multi-label CNN with a hand-written binary cross-entropy and a useless epsilon.

loss = -(t*log(p) + (1-t)*log(1e-10 + 1 - p)) with p = sigmoid(z). In float32
1e-10 + 1 == 1, so the epsilon protects nothing: once a logit passes ~17, sigmoid rounds to
exactly 1.0, 1 - p == 0 and log(0) = -inf (times t=1 gives... and (1-t)=0 times -inf gives
NaN). Held out: sigmoid/BCE instead of softmax/CE, conv model, epsilon that looks safe.
Fix: F.binary_cross_entropy_with_logits.
"""
# nansentry-scenario: {"cause": "log_of_zero", "phase": "loss", "op": "log", "module": null, "samples": [], "recoverable": false, "heldout": true, "step": 18}
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
n, tags = 320, 5
img = torch.rand(n, 1, 12, 12) * 0.2
target = (torch.rand(n, tags) > 0.6).float()
for t in range(tags):  # tag t present -> bright stripe in row 2*t
    img[:, 0, 2 * t, :] += target[:, t:t + 1] * 3.0

model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
    nn.Flatten(), nn.Linear(8 * 12 * 12, tags),
)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
loader = DataLoader(TensorDataset(img, target), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(8):
    for x, t in loader:
        p = torch.sigmoid(model(x))
        loss = -(t * torch.log(p) + (1 - t) * torch.log(1e-10 + 1 - p)).mean()  # EXPECT-NAN
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
