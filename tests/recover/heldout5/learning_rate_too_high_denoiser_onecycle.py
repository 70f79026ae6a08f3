"""Residual denoising CNN (small DnCNN) for grayscale microscopy-like tiles.

Synthetic 20x20 tiles of blurred blobs ("cells") and thin line structures
("filaments") on a smooth background are corrupted with Gaussian read noise
(sigma 0.25). The network predicts the noise residual; the loss is the MSE
between the denoised tile and the clean tile. Training uses SGD with
Nesterov momentum and a OneCycleLR schedule over 300 steps (warm-up for the
first 30%, then cosine annealing), following the super-convergence recipe.

What goes wrong: max_lr was copied from a classification recipe (0.6). With
no normalisation layers and an unbounded MSE loss, once the warm-up has
pushed the LR past roughly 0.25 (around step 38) the updates start to
overshoot; the loss spikes, recovers briefly, then grows geometrically
(0.7 -> 52 -> 1e16 at steps 48-51), overflows and is nan from step 52 on.
The weights become nan and stay nan for the rest of the run.

--clean: the careful fix, lower the one-cycle peak to max_lr=0.05 (everything
else identical: same seed, same data, same loader order, same steps).
"""
# recover-heldout: {"category": "learning_rate_too_high", "bad_samples": [], "nan_step": 52}
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

torch.set_num_threads(1)

TILE = 20


def synth_tiles(n, g):
    yy, xx = torch.meshgrid(torch.arange(TILE).float(), torch.arange(TILE).float(), indexing="ij")
    tiles = torch.zeros(n, 1, TILE, TILE)
    for i in range(n):
        img = 0.2 + 0.1 * (xx * torch.rand(1, generator=g) + yy * torch.rand(1, generator=g)) / TILE
        for _ in range(int(torch.randint(2, 6, (1,), generator=g))):
            cy, cx = torch.rand(2, generator=g) * TILE
            r = 1.5 + 3 * torch.rand(1, generator=g)
            img = img + 0.6 * torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r ** 2))
        for _ in range(int(torch.randint(0, 3, (1,), generator=g))):
            a, b = torch.randn(2, generator=g)
            c = torch.rand(1, generator=g) * TILE
            d = (a * xx + b * yy - c * (a.abs() + b.abs())).abs() / (a ** 2 + b ** 2).sqrt()
            img = img + 0.4 * torch.exp(-d ** 2 / 0.8)
        tiles[i, 0] = img.clamp(0, 1)
    return tiles


class NoisyTiles(Dataset):
    def __init__(self, n=1024, sigma=0.25, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.clean = synth_tiles(n, g)
        self.noisy = self.clean + sigma * torch.randn(self.clean.shape, generator=g)

    def __len__(self):
        return len(self.clean)

    def __getitem__(self, i):
        return self.noisy[i], self.clean[i]


class DnCNN(nn.Module):
    def __init__(self, depth=5, width=24):
        super().__init__()
        layers = [nn.Conv2d(1, width, 3, padding=1), nn.LeakyReLU(0.1)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.1)]
        layers.append(nn.Conv2d(width, 1, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, noisy):
        return noisy - self.body(noisy)     # residual learning: predict the noise


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clean", action="store_true")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    torch.manual_seed(0)
    ds = NoisyTiles(1024, seed=11)
    loader = DataLoader(ds, batch_size=32, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(5))
    model = DnCNN()
    max_lr = 0.05 if args.clean else 0.6
    opt = torch.optim.SGD(model.parameters(), lr=max_lr, momentum=0.9, nesterov=True,
                          weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=args.steps,
                                                pct_start=0.3)

    losses, step, epoch = [], 0, 0
    while step < args.steps:
        epoch += 1
        for noisy, clean in loader:
            denoised = model(noisy)
            loss = F.mse_loss(denoised, clean)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            step += 1
            if step % 10 == 0 or step == 1:
                psnr = -10 * torch.log10(loss.detach()).item()
                print(f"epoch {epoch:2d} step {step:4d} lr {sched.get_last_lr()[0]:.4f} "
                      f"loss {loss.item():.5f} psnr {psnr:.2f} dB")
            if step >= args.steps:
                break

    print(f"final_loss={sum(losses[-10:]) / 10}")


if __name__ == "__main__":
    main()
