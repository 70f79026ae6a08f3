"""1D CNN estimating bearing wear from vibration windows; a few wear labels are NaN.

Each sample is a 1 x 96 accelerometer window from a test rig; the target is the measured
wear level (a float). Worn bearings are rare, so the user balances the epochs with a
WeightedRandomSampler(weights, num_samples=len(dataset), replacement=False): rare worn
windows tend to be drawn early in every epoch, common healthy ones late. The model is a
small Conv1d/BatchNorm stack with global average pooling, trained with SGD + momentum on
a Huber loss.

The wear gauge failed to log for three healthy windows (dataset indices 84, 301, 565);
their target is NaN. Because they are low-weight, the sampler draws the first of them
only late in the first epoch, at step 27 of 120: the Huber loss is nan, backward
spreads nan into every gradient and SGD writes nan into every weight (BatchNorm running
stats follow on the next forward). The run keeps going with nan losses.

Fix (--clean): drop the windows whose label is missing before building the dataset and
the sampler weights.
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [84, 301, 565], "nan_step": 27}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

N, LENGTH = 600, 96
MISSING_LABELS = [84, 301, 565]


def make_windows(seed=0):
    g = torch.Generator().manual_seed(seed)
    worn = torch.rand(N, generator=g) < 0.12
    wear = torch.where(worn, 0.6 + 0.4 * torch.rand(N, generator=g), 0.3 * torch.rand(N, generator=g))
    t = torch.arange(LENGTH).float()
    base_freq = 0.15 + 0.05 * torch.rand(N, 1, generator=g)
    phase = 6.283 * torch.rand(N, 1, generator=g)
    signal = torch.sin(base_freq * t + phase)
    # wear adds a high-frequency rattle and impulsive spikes
    rattle = wear[:, None] * torch.sin(1.1 * t + 2 * phase)
    spikes = (torch.rand(N, LENGTH, generator=g) < 0.05 * wear[:, None]).float() * 2.0
    x = signal + rattle + spikes + 0.2 * torch.randn(N, LENGTH, generator=g)
    y = wear.clone()
    y[MISSING_LABELS] = float("nan")
    return x[:, None, :], y, worn


class WearNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(1, 16, 7, padding=3), nn.BatchNorm1d(16), nn.ReLU(),
            nn.Conv1d(16, 32, 5, padding=2, stride=2), nn.BatchNorm1d(32), nn.ReLU(),
            nn.Conv1d(32, 32, 5, padding=2, stride=2), nn.BatchNorm1d(32), nn.ReLU(),
        )
        self.head = nn.Linear(32, 1)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=2)).squeeze(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true", help="drop windows with a missing wear label")
    args = parser.parse_args()
    torch.manual_seed(0)

    x, y, worn = make_windows()
    if args.clean:
        keep = ~torch.isnan(y)
        x, y, worn = x[keep], y[keep], worn[keep]
    weights = torch.where(worn, 6.0, 1.0)
    sampler = WeightedRandomSampler(weights, num_samples=len(y), replacement=False)
    loader = DataLoader(TensorDataset(x, y), batch_size=20, sampler=sampler)

    model = WearNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    loss_fn = nn.HuberLoss(delta=0.5)
    losses, step = [], 0
    for epoch in range(4):
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
            if step % 10 == 0:
                print(f"epoch {epoch} step {step} loss {loss.item():.4f}")
            step += 1
    print(f"final_loss={sum(losses[-10:]) / 10}")


if __name__ == "__main__":
    main()
