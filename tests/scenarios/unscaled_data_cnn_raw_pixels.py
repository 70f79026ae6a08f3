"""A small CNN regressing object size from raw 0-255 pixels (no /255, no mean/std).

Synthetic 16x16 grey images of a bright square of random size on a noisy background; the
target is the square's area in pixels (up to ~150). Raw pixel values of order 255 make the
first conv activations and gradients hundreds of times larger than with normalised input;
SGD with momentum at lr 5e-2 overshoots and the run diverges within a few steps (the final Linear, module "7",
produces NaN at step 2).
Fix: x / 255 (and scale the target) -- --clean does both and prints its final loss in
pixels^2, the broken run's units.
"""
# nansentry-scenario: {"cause": "unscaled_data", "phase": "forward", "op": "addmm", "module": "7", "samples": [], "recoverable": false, "heldout": false, "step": 2}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="scale pixels to [0, 1]")
args = parser.parse_args()
torch.manual_seed(0)


class Squares(Dataset):
    def __init__(self, n=384):
        self.img = torch.randint(0, 60, (n, 1, 16, 16)).float()
        self.area = torch.zeros(n, 1)
        for i in range(n):
            s = int(torch.randint(3, 12, ()))
            r, c = torch.randint(0, 16 - s, (2,)).tolist()
            self.img[i, 0, r:r + s, c:c + s] = 255.0
            self.area[i] = s * s

    def __len__(self):
        return len(self.img)

    def __getitem__(self, i):
        if args.clean:
            return self.img[i] / 255.0, self.area[i] / 100.0
        return self.img[i], self.area[i]


loader = DataLoader(Squares(), batch_size=32, shuffle=True)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.LeakyReLU(0.1), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.LeakyReLU(0.1), nn.AdaptiveAvgPool2d(1),
    nn.Flatten(), nn.Linear(16, 1),
)
opt = torch.optim.SGD(model.parameters(), lr=5e-2, momentum=0.9)

losses, step = [], 0
for epoch in range(4):
    for img, area in loader:
        loss = nn.functional.mse_loss(model(img), area)  # EXPECT-NAN
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4g}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10 * (100.0 ** 2 if args.clean else 1.0)}")
