"""A CNN with a hand-written softplus activation log(1 + exp(x)).

The activation module is reused after every conv; log1p/exp without the
`x > threshold -> x` branch that F.softplus has. Inputs are radar-like intensities in dB
(values up to ~110), so after one conv some pre-activations pass 88.7 and exp gives inf
(then log(inf) = inf) inside module "features.1" (op exp). Held out: activation function,
conv model, not a softmax. Fix: F.softplus / nn.Softplus.
"""
# nansentry-scenario: {"cause": "exp_overflow", "phase": "forward", "op": "exp", "module": "features.1", "samples": [], "recoverable": false, "heldout": true, "step": 0}
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


class SoftPlus(nn.Module):
    def forward(self, x):
        return torch.log(1 + torch.exp(x))  # EXPECT-NAN


n = 256
img = 40 + 30 * torch.rand(n, 1, 12, 12)
y = torch.randint(0, 2, (n,))
img[y == 1, :, 4:8, 4:8] += 40.0  # a bright echo for class 1

model = nn.Sequential()
model.add_module("features", nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), SoftPlus(), nn.Conv2d(8, 8, 3, padding=1), SoftPlus(),
    nn.AdaptiveAvgPool2d(2), nn.Flatten()))
model.add_module("head", nn.Linear(32, 2))
opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
loader = DataLoader(TensorDataset(img, y), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(4):
    for x, t in loader:
        loss = nn.functional.cross_entropy(model(x), t)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
