"""Texture-orientation classifier: a pre-activation ResNet with its BatchNorm removed, trained with the usual ResNet SGD recipe.

Model: small pre-activation ResNet for 16x16 grey-scale patches with every
BatchNorm taken out (as people do for batch-size-1 deployment or to save
memory): a 3x3 stem conv (1->16), 3 residual blocks x -> x + conv(relu(conv(relu(x))))
at 16 channels, a stride-2 3x3 conv to 32 channels, 3 more residual blocks at
32 channels, global average pooling and a linear layer to 6 classes.  PyTorch
default initialisation, no normalisation anywhere, identity skip paths.
Loss: cross-entropy.  SGD with Nesterov momentum 0.9, lr 0.08, weight decay
5e-4, CosineAnnealingLR over the 300 steps, batch 32.

Data: 4096 patches generated in-script: sinusoidal gratings with a random
frequency and phase whose orientation lies in one of 6 bins (the class,
+-7.5 degrees of jitter inside the bin), plus N(0, 0.3^2) pixel noise (think
fabric / brushed-metal inspection).  Clean data, balanced classes.

What goes wrong: without normalisation the residual stream is a sum of all
block outputs, so the gradient reaching the early blocks is multiplied
through every later block and grows as SGD grows the conv weights.  The run
learns at first (loss 1.79 -> 0.82 and 75% batch accuracy by step 37, gradient
norm mostly 0.3 - 6), then at step 38 the gradient norm jumps to ~55 and the
lr-0.08 Nesterov update knocks the blocks out of scale; after a dip to ~1
at step 39 the gradient norm climbs again (~8 at step 40, ~15, then ~1.3e3
at step 42 and ~1.6e5 at step 43, where the loss is ~3.5e4).  At step 44 the loss is ~3e35 and the
gradient norm ~5e35 (every element still finite, but the norm itself is past
the float32 range), and that update overflows the weights: at step 45
(counted from 0) the loss and all gradients are NaN, the parameters are NaN
from then on, and the run prints final_loss=nan.

--clean: calls torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
between backward() and optimizer.step(); nothing else changes.  The run then
rides out its gradient spikes (norms of ~20-40 get clipped) and trains to
100% batch accuracy, with a mean loss of ~4e-5 over the last 20 steps.
"""
# recover-heldout: {"category": "exploding_gradients", "nan_step": 45}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SIZE = 16
N_CLASSES = 6
WIDTH = 16
N_BLOCKS = 6
LR = 0.08


def make_patches(n=4096, noise=0.3, seed=3):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, N_CLASSES, (n,), generator=g)
    theta = (labels.float() + 0.5 * torch.rand(n, generator=g) - 0.25) * math.pi / N_CLASSES
    freq = 0.12 + 0.1 * torch.rand(n, generator=g)
    phase = 2 * math.pi * torch.rand(n, generator=g)
    yy, xx = torch.meshgrid(torch.arange(SIZE).float(), torch.arange(SIZE).float(), indexing="ij")
    proj = xx[None] * torch.cos(theta)[:, None, None] + yy[None] * torch.sin(theta)[:, None, None]
    img = torch.sin(2 * math.pi * freq[:, None, None] * proj + phase[:, None, None])
    img = img + noise * torch.randn(img.shape, generator=g)
    return img[:, None], labels


class PreActBlock(nn.Module):
    """Pre-activation residual block with the BatchNorms removed."""

    def __init__(self, ch):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class NormFreeResNet(nn.Module):
    def __init__(self, width=WIDTH, n_blocks=N_BLOCKS):
        super().__init__()
        self.stem = nn.Conv2d(1, width, 3, padding=1)
        self.stage1 = nn.Sequential(*[PreActBlock(width) for _ in range(n_blocks // 2)])
        self.down = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
        self.stage2 = nn.Sequential(*[PreActBlock(2 * width) for _ in range(n_blocks - n_blocks // 2)])
        self.fc = nn.Linear(2 * width, N_CLASSES)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = self.stage1(x)
        x = F.relu(self.down(x))
        x = self.stage2(x)
        return self.fc(x.mean((2, 3)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="clip the gradient norm to 1.0")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    images, labels = make_patches()
    model = NormFreeResNet()
    total_steps, batch = 300, 32
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)

    g = torch.Generator().manual_seed(1)
    losses = []
    for step in range(total_steps):
        idx = torch.randint(0, images.shape[0], (batch,), generator=g)
        logits = model(images[idx])
        loss = F.cross_entropy(logits, labels[idx])
        opt.zero_grad()
        loss.backward()
        if args.clean:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % 20 == 0 or step == total_steps - 1:
            acc = (logits.argmax(1) == labels[idx]).float().mean().item()
            print(f"step {step:4d}  loss {loss.item():.4f}  batch acc {acc:.2f}")

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
