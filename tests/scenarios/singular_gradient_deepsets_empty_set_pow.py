"""DeepSets model pooling a masked set, then a hand-written magnitude feature ** 0.5.

Each sample is a set of up to 8 points with a mask; pooled = (mask * phi(points)).sum(1)
and the model appends the pooled vector's magnitude (pooled**2).sum(-1) ** 0.5 as a
feature. Dataset index 33 is an empty set (mask all zero): pooled is exactly 0, its
magnitude 0 is finite, but d/dx x**0.5 = 0.5 * 0**-0.5 = inf; the product with the zero
mask gives NaN gradients for phi's weights (backward, op pow, in module "pool").
Fix: (s + eps) ** 0.5 or torch.linalg.vector_norm. --clean uses torch.linalg.vector_norm.
"""
# nansentry-scenario: {"cause": "singular_gradient", "phase": "backward", "op": "pow", "module": "pool", "samples": [33], "recoverable": true, "heldout": false, "step": 3}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="a norm with a safe gradient at 0")
args = parser.parse_args()
torch.manual_seed(0)


class PointSets(Dataset):
    def __init__(self, n=256, k=8):
        self.pts = torch.randn(n, k, 3)
        self.mask = (torch.rand(n, k) < 0.7).float()
        self.mask[:, 0] = 1.0
        self.mask[33] = 0.0  # an empty set
        self.y = ((self.pts[..., 0] * self.mask).sum(1) > 0).long()

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.pts[i], self.mask[i], self.y[i]


class Pool(nn.Module):
    def __init__(self):
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(3, 32), nn.Tanh(), nn.Linear(32, 16))

    def forward(self, pts, mask):
        pooled = (mask.unsqueeze(-1) * self.phi(pts)).sum(1)
        magnitude = (pooled ** 2).sum(-1, keepdim=True) ** 0.5  # EXPECT-NAN
        if args.clean:
            magnitude = torch.linalg.vector_norm(pooled, dim=-1, keepdim=True)
        return torch.cat([pooled, magnitude], -1)


class DeepSets(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = Pool()
        self.rho = nn.Sequential(nn.Linear(17, 32), nn.ReLU(), nn.Linear(32, 2))

    def forward(self, pts, mask):
        return self.rho(self.pool(pts, mask))


model = DeepSets()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
loader = DataLoader(PointSets(), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(4):
    for pts, mask, y in loader:
        loss = nn.functional.cross_entropy(model(pts, mask), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
