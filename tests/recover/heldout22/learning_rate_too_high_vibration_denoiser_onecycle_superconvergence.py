"""Vibration-signal denoiser: a 1-D convolutional autoencoder trained with SGD + OneCycleLR at a "super-convergence" peak rate.

Model: a fully convolutional denoising autoencoder on 256-sample
accelerometer windows: Conv1d(1->32, k9) -> Conv1d(32->32, k9, stride 2)
-> Conv1d(32->64, k9, stride 2), ReLU after each, then
ConvTranspose1d(64->32, stride 2) -> ConvTranspose1d(32->32, stride 2),
ReLU after each, and a final Conv1d(32->1, k9).  No normalisation layers.
Loss: MSE between the reconstruction of the noisy window and the clean
window.  SGD with Nesterov momentum and weight decay 1e-4 under
OneCycleLR (25% warm-up, peak learning rate 2.0, momentum cycled
0.95 -> 0.85 -> 0.95 by the scheduler), batch 32, 400 steps.  The peak
rate was copied from a super-convergence recipe written for a
batch-normalised ResNet.

Data: 4096 synthetic windows generated in-script: a shaft-rotation
fundamental (20-60 cycles per window) with 2nd and 3rd harmonics at
random phases, plus periodic bearing-fault impulse trains on ~30% of
windows; the input adds Gaussian sensor noise (sd 0.6).  Clean targets
have variance ~0.77; the noisy input itself has MSE ~0.36.

What goes wrong: without normalisation the network cannot tolerate a
learning rate anywhere near 2.0.  While the OneCycle warm-up rate is
small the MSE drifts down (0.82 at step 0 -> ~0.70-0.75 at steps 25-35),
but the rate passes 0.5 at step ~30 and the updates start to overshoot:
the MSE is 1.9 at step 45, ~2e3 at step 50 (rate ~1.1) and then grows
~10-25x per step (4e8 at step 56, 1.7e33 at step 76).  At step 77
(counted from 0) the MSE overflows float32 and the loss is inf; the
gradients stay finite but enormous until step 105, when they become
non-finite too, the update writes NaN into the weights, and from step
106 every loss is NaN.  Training keeps going to the end, so the run
prints final_loss=nan.

--clean: uses a peak learning rate of 0.2 (same optimiser, momentum
cycling, warm-up fraction and everything else).  The run stays finite
and the MSE falls from 0.82 to a mean of ~0.134 over the last 20 steps,
well below the 0.36 of the noisy input.
"""
# recover-heldout: {"category": "learning_rate_too_high", "nan_step": 77}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

WINDOW = 256


def make_windows(n=4096, seed=17):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(WINDOW).float() / WINDOW
    f0 = 20 + 40 * torch.rand(n, 1, generator=g)
    phase = 2 * math.pi * torch.rand(n, 3, generator=g)
    clean = (torch.sin(2 * math.pi * f0 * t + phase[:, :1])
             + 0.5 * torch.sin(4 * math.pi * f0 * t + phase[:, 1:2])
             + 0.3 * torch.sin(2 * math.pi * (3 * f0) * t + phase[:, 2:3]))
    fault = (torch.rand(n, 1, generator=g) < 0.3).float()
    period = (8 + 8 * torch.rand(n, 1, generator=g)).round()
    impulses = ((torch.arange(WINDOW).float() % period) < 1).float() * fault * 2.0
    clean = clean + impulses
    noisy = clean + 0.6 * torch.randn(n, WINDOW, generator=g)
    return noisy.unsqueeze(1), clean.unsqueeze(1)


class ConvDenoiser(nn.Module):
    def __init__(self, c=32):
        super().__init__()
        self.enc = nn.Sequential(
            nn.Conv1d(1, c, 9, padding=4), nn.ReLU(),
            nn.Conv1d(c, c, 9, stride=2, padding=4), nn.ReLU(),
            nn.Conv1d(c, 2 * c, 9, stride=2, padding=4), nn.ReLU(),
        )
        self.dec = nn.Sequential(
            nn.ConvTranspose1d(2 * c, c, 8, stride=2, padding=3), nn.ReLU(),
            nn.ConvTranspose1d(c, c, 8, stride=2, padding=3), nn.ReLU(),
            nn.Conv1d(c, 1, 9, padding=4),
        )

    def forward(self, x):
        return self.dec(self.enc(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="use a sensible peak learning rate")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    noisy, clean = make_windows()
    model = ConvDenoiser()
    peak_lr = 0.2 if args.clean else 2.0
    steps, batch = 400, 32
    opt = torch.optim.SGD(model.parameters(), lr=peak_lr, momentum=0.9, nesterov=True,
                          weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=peak_lr, total_steps=steps,
                                                pct_start=0.25)

    g = torch.Generator().manual_seed(1)
    losses = []
    for step in range(steps):
        idx = torch.randint(0, len(noisy), (batch,), generator=g)
        loss = F.mse_loss(model(noisy[idx]), clean[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % 20 == 0 or step == steps - 1:
            print(f"step {step:4d}  mse {loss.item():.4f}  lr {sched.get_last_lr()[0]:.3e}")

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
