"""A 10-layer CNN whose conv weights were initialised with uniform(-1, 1).

Each 3x3x16 conv then has a gain of about sqrt(144 / 3 / 2) = ~4.9, so activations and
logits are already ~1e7 at the first step; the gradients are of the same order, the first
SGD update multiplies the weights and the next forward overflows. Fix: Kaiming init
(--clean uses nn.init.kaiming_uniform_ with the ReLU gain).
"""
# nansentry-scenario: {"cause": "bad_initialization", "phase": "forward", "op": ["convolution", "mkldnn_convolution"], "module": "features.12", "samples": [], "recoverable": false, "heldout": false, "step": 2}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="Kaiming init")
args = parser.parse_args()
torch.manual_seed(0)

layers = [nn.Conv2d(1, 16, 3, padding=1), nn.ReLU()]
for _ in range(9):
    layers += [nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()]
model = nn.Sequential()
model.add_module("features", nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten()))
model.add_module("head", nn.Linear(16, 4))
for m in model.modules():
    if isinstance(m, nn.Conv2d):
        if args.clean:
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
        else:
            nn.init.uniform_(m.weight, -1.0, 1.0)

img = torch.rand(192, 1, 10, 10)
label = torch.randint(0, 4, (192,))
img[torch.arange(192), 0, label * 2, :] += 1.0
opt = torch.optim.SGD(model.parameters(), lr=1e-2)
loader = DataLoader(TensorDataset(img, label), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(2):
    for x, y in loader:
        loss = nn.functional.cross_entropy(model(x), y)  # EXPECT-NAN
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 6 == 0:
            print(f"step {step} loss {loss.item():.4g}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
