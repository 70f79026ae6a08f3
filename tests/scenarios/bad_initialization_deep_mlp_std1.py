"""A 48-layer ReLU MLP initialised with N(0, 1) weights ("init like the tutorial: randn").

Without the 1/sqrt(fan_in) factor every Linear multiplies the activation scale by about
sqrt(fan_in / 2) = ~5.7 (width 64), so activations grow layer by layer and reach ~1e36
at the first step (gradient norm ~3e36); the first SGD update then makes the second
forward overflow float32 right at the second Linear ("net.2", step 1). Fix: the default (Kaiming
uniform) init or nn.init.kaiming_normal_; --clean uses std = sqrt(2 / fan_in).
"""
# nansentry-scenario: {"cause": "bad_initialization", "phase": "forward", "op": "addmm", "module": "net.2", "samples": [], "recoverable": false, "heldout": false, "step": 1}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="Kaiming init")
args = parser.parse_args()
torch.manual_seed(0)


class DeepMLP(nn.Module):
    def __init__(self, depth=48, width=64):
        super().__init__()
        layers = [nn.Linear(16, width), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Linear(width, width), nn.ReLU()]
        layers.append(nn.Linear(width, 3))
        self.net = nn.Sequential(*layers)
        for m in self.net:
            if isinstance(m, nn.Linear):
                std = (2 / m.in_features) ** 0.5 if args.clean else 1.0
                nn.init.normal_(m.weight, std=std)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.net(x)  # EXPECT-NAN


x = torch.randn(256, 16)
y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
model = DeepMLP()
opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(3):
    for xb, yb in loader:
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4g}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
