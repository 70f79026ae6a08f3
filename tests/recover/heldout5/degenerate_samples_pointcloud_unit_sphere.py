"""Point-cloud shape classifier (PointNet-style) for scanned parts.

Each sample is a cloud of 128 3-D points sampled from one of five primitive
part shapes (sphere, box, cylinder, cone, torus) at a random position, size
and orientation, with scanner noise. The model first canonicalises every
cloud (subtract the centroid, divide by the largest point radius, the usual
"fit into the unit sphere" step), then runs a shared per-point MLP, a
max-pool over points and a classifier head. Adam + StepLR, 400 steps.

What goes wrong: two clouds in the set (indices 221 and 626) come from scans
where the laser got no returns (part too shiny) and the scanner driver
zero-padded the cloud to 128 points, all at the origin. They look perfectly
valid (finite coordinates, right shape, a real label from the work order),
but after centring every point is exactly 0, the largest radius is 0, and
the unit sphere normalisation computes 0/0 = NaN. The first time the shuffled
loader puts one of them in a batch (step 17 of the 25 in epoch 1) the loss
is NaN, the gradients are NaN, Adam writes NaN into the weights and the
rest of the run is nan.

--clean: the careful fix, make the normalisation safe by clamping the scale
(radius.clamp_min(1e-6)), so a degenerate cloud maps to all zeros instead of
NaN. The samples are NOT dropped; data, seed, loader order and steps are the
same.
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [221, 626], "nan_step": 17}
import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

torch.set_num_threads(1)

SHAPES = ["sphere", "box", "cylinder", "cone", "torus"]
N_POINTS = 128
NO_RETURN_SCANS = [221, 626]


def sample_shape(c, n, g):
    u, v = torch.rand(n, generator=g), torch.rand(n, generator=g)
    if c == 0:
        p = torch.randn(n, 3, generator=g)
        p = p / p.norm(dim=1, keepdim=True)
    elif c == 1:
        p = torch.rand(n, 3, generator=g) * 2 - 1
        face = torch.randint(0, 3, (n,), generator=g)
        p[torch.arange(n), face] = torch.sign(p[torch.arange(n), face])
        p = p * torch.tensor([1.0, 0.6, 0.4])
    elif c == 2:
        a = 2 * math.pi * u
        p = torch.stack([torch.cos(a), torch.sin(a), 2 * v - 1], 1) * torch.tensor([0.5, 0.5, 1.0])
    elif c == 3:
        a, h = 2 * math.pi * u, v.sqrt()
        p = torch.stack([h * torch.cos(a) * 0.6, h * torch.sin(a) * 0.6, 1 - 2 * h], 1)
    else:
        a, b = 2 * math.pi * u, 2 * math.pi * v
        p = torch.stack([(1 + 0.35 * torch.cos(b)) * torch.cos(a),
                         (1 + 0.35 * torch.cos(b)) * torch.sin(a), 0.35 * torch.sin(b)], 1)
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=g))   # random orientation
    return p @ q.T


class ScanDataset(Dataset):
    def __init__(self, n, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, len(SHAPES), (n,), generator=g)
        clouds = []
        for i in range(n):
            p = sample_shape(self.labels[i].item(), N_POINTS, g)
            scale = 20 + 80 * torch.rand(1, generator=g)        # part size in mm
            offset = 200 * torch.randn(1, 3, generator=g)        # position on the bed
            p = p * scale + offset + 0.3 * torch.randn(N_POINTS, 3, generator=g)
            if i in NO_RETURN_SCANS:  # no returns: driver zero-pads to N_POINTS
                p = torch.zeros(N_POINTS, 3)
            clouds.append(p)
        self.clouds = torch.stack(clouds)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.clouds[i], self.labels[i]


class UnitSphereNorm(nn.Module):
    def __init__(self, eps=0.0):
        super().__init__()
        self.eps = eps

    def forward(self, pts):                       # (B, N, 3)
        centred = pts - pts.mean(dim=1, keepdim=True)
        radius = centred.norm(dim=-1).amax(dim=1, keepdim=True)   # (B, 1)
        if self.eps > 0:
            radius = radius.clamp_min(self.eps)
        return centred / radius.unsqueeze(-1)


class PointNet(nn.Module):
    def __init__(self, n_classes, eps=0.0):
        super().__init__()
        self.norm = UnitSphereNorm(eps)
        self.point_mlp = nn.Sequential(
            nn.Linear(3, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
            nn.Linear(64, 128), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.2),
                                  nn.Linear(64, n_classes))

    def forward(self, pts):
        feats = self.point_mlp(self.norm(pts))    # (B, N, 128)
        return self.head(feats.amax(dim=1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clean", action="store_true")
    ap.add_argument("--steps", type=int, default=400)
    args = ap.parse_args()

    torch.manual_seed(0)
    ds = ScanDataset(800, seed=42)
    loader = DataLoader(ds, batch_size=32, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(3))
    model = PointNet(len(SHAPES), eps=1e-6 if args.clean else 0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=150, gamma=0.5)

    losses, step, epoch = [], 0, 0
    while step < args.steps:
        epoch += 1
        for pts, y in loader:
            logits = model(pts)
            loss = F.cross_entropy(logits, y, label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            step += 1
            if step % 25 == 0 or step == 1:
                acc = (logits.argmax(1) == y).float().mean().item()
                print(f"epoch {epoch:2d} step {step:4d} loss {loss.item():.4f} acc {acc:.3f}")
            if step >= args.steps:
                break

    print(f"final_loss={sum(losses[-10:]) / 10}")


if __name__ == "__main__":
    main()
