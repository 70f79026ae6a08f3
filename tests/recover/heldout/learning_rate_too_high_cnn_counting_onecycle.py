"""CNN that counts blobs in microscope tiles, OneCycleLR with a peak lr that is too high.

Synthetic 20 x 20 "microscope" tiles hold 0 to 7 Gaussian cells on a noisy background;
a three-block Conv2d/LeakyReLU/MaxPool network regresses the cell count with an MSE
loss. The optimizer is SGD with momentum 0.9 driven by OneCycleLR over the whole run
(160 steps, warm-up over the first 30 %). The user set max_lr=0.05, taken from a recipe
for a normalised network; this unnormalised CNN diverges above about 0.03.

While the schedule ramps up the loss first falls (14.5 -> ~3 by step 27); once the lr
passes ~0.033 every update overshoots further: the loss jumps to 43, 67, 5.7e5, 7.9e31
(steps 28-32), the weights and count predictions grow geometrically, and at step 33
(lr 0.040, still before the peak) the loss and every weight are nan. The data are fine.

Fix (--clean): max_lr=0.01; the same schedule then trains smoothly.
"""
# recover-heldout: {"category": "learning_rate_too_high", "bad_samples": [], "nan_step": 33}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

N_TILES, SIDE, MAX_CELLS = 1024, 20, 8


def make_tiles(seed=0):
    g = torch.Generator().manual_seed(seed)
    count = torch.randint(0, MAX_CELLS, (N_TILES,), generator=g)
    yy, xx = torch.meshgrid(torch.arange(float(SIDE)), torch.arange(float(SIDE)), indexing="ij")
    cx = 2 + (SIDE - 4) * torch.rand(N_TILES, MAX_CELLS, generator=g)
    cy = 2 + (SIDE - 4) * torch.rand(N_TILES, MAX_CELLS, generator=g)
    present = torch.arange(MAX_CELLS)[None] < count[:, None]
    cells = torch.exp(-((xx - cx[..., None, None]) ** 2 + (yy - cy[..., None, None]) ** 2) / 2.0)
    tiles = 0.3 * torch.randn(N_TILES, SIDE, SIDE, generator=g) + (cells * present[..., None, None]).sum(1)
    return tiles[:, None], count.float()


class CellCounter(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.LeakyReLU(0.1), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.LeakyReLU(0.1), nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.LeakyReLU(0.1), nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(32, 1)

    def forward(self, x):
        return self.head(self.body(x).flatten(1)).squeeze(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true", help="use a sane peak learning rate (0.01)")
    args = parser.parse_args()
    torch.manual_seed(0)

    tiles, counts = make_tiles()
    loader = DataLoader(TensorDataset(tiles, counts), batch_size=32, shuffle=True)
    epochs = 5
    model = CellCounter()
    max_lr = 0.01 if args.clean else 0.05
    opt = torch.optim.SGD(model.parameters(), lr=max_lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=epochs * len(loader), pct_start=0.3)
    losses, step = [], 0
    for epoch in range(epochs):
        for x, y in loader:
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            sched.step()
            losses.append(loss.item())
            if step % 10 == 0:
                print(f"step {step} lr {sched.get_last_lr()[0]:.4f} loss {loss.item():.4f}")
            step += 1
    print(f"final_loss={sum(losses[-10:]) / 10}")


if __name__ == "__main__":
    main()
