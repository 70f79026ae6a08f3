"""Self-supervised (SimCLR / NT-Xent) pre-training on accelerometer windows.

Model: a spectral encoder for 1-axis vibration windows of 256 samples.  The
first layer of the model is a per-window standardisation
((x - mean) / std, written by hand so that the encoder does not depend on the
sensor's gain or DC offset), followed by a fixed FFT front end
(torch.fft.rfft -> complex spectrum -> .abs() -> log1p, 97 bins) and an MLP
encoder 97 -> 128 -> 64 plus a projection head 64 -> 32.  The MLP runs under
torch.autocast("cpu", dtype=torch.bfloat16); the projections are cast back to
float32, L2-normalised with F.normalize and fed to a temperature-scaled
NT-Xent loss (tau = 0.1, F.cross_entropy over the 2B x 2B cosine-similarity
logits with the diagonal masked out).  Two views per window are made by a
random 192-sample crop, zeroing a random 32-sample span (sensor dropout), a
random gain in [0.5, 2] and a random polarity flip.  AdamW, lr 1e-3, weight
decay 1e-4, batch 32, 250 steps, DataLoader (shuffle=True, seeded generator)
over a map-style Dataset.

Data: 2048 synthetic windows from a pump test rig, generated in-script: a
shaft frequency with 1-4 harmonics, optional bearing-defect bursts
(amplitude-modulated high-frequency ringing), sensor noise, and a random
gain and DC offset per window.  Three windows (indices 292, 634 and 1180)
were recorded while the pump was switched off: the logger writes exact zeros
when the machine is idle.  These are legitimate samples (the deployment data
contain idle periods too).

What goes wrong: for an all-zero window the hand-written standardisation
computes (0 - 0) / 0 = NaN.  The NaN spectrum gives a NaN embedding, the
normalised similarity row is NaN and, through the softmax denominators, the
whole NT-Xent loss is NaN.  Training is normal before that (loss 3.7 ->
~1.2); with this seed the first batch that contains an idle window is step
42 (counted from 0, window 1180).  The NaN gradients go through AdamW into
every weight and the loss stays NaN for the rest of the run.

--clean: clamps the denominator of the standardisation,
std.clamp_min(1e-5), so an idle window standardises to zeros; nothing else
changes.  The run then trains from 3.7 to a mean NT-Xent loss of ~0.8 over
the last 20 steps.
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [292, 634, 1180], "nan_step": 42}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

WIN = 256
CROP = 192
FS = 2048.0
IDLE = [292, 634, 1180]


def make_rig_windows(n=2048, seed=3):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(WIN) / FS
    x = torch.zeros(n, WIN)
    for i in range(n):
        f0 = 20.0 + 80.0 * float(torch.rand(1, generator=g))
        nh = int(torch.randint(1, 5, (1,), generator=g))
        for h in range(1, nh + 1):
            a = float(torch.rand(1, generator=g)) / h
            ph = 2 * math.pi * float(torch.rand(1, generator=g))
            x[i] += a * torch.sin(2 * math.pi * h * f0 * t + ph)
        if float(torch.rand(1, generator=g)) < 0.4:                    # bearing defect ringing
            fr = 400.0 + 400.0 * float(torch.rand(1, generator=g))
            rate = 8.0 + 20.0 * float(torch.rand(1, generator=g))
            env = torch.relu(torch.sin(2 * math.pi * rate * t)) ** 4
            x[i] += 0.6 * env * torch.sin(2 * math.pi * fr * t)
        x[i] += 0.05 * torch.randn(WIN, generator=g)
        x[i] *= 0.2 + 3.0 * float(torch.rand(1, generator=g))           # mounting / gain differences
        x[i] += 0.5 * torch.randn(1, generator=g)                        # DC offset
    x[IDLE] = 0.0                                                        # pump switched off
    return x


class RigWindows(Dataset):
    def __init__(self, x):
        self.x = x

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], i


def augment(x):
    """Random 192-sample crop, random dropout of a 32-sample span, gain and polarity."""
    b = x.shape[0]
    start = torch.randint(0, WIN - CROP + 1, (b,))
    idx = start[:, None] + torch.arange(CROP)[None, :]
    x = torch.gather(x, 1, idx)
    cut = torch.randint(0, CROP - 32, (b, 1))
    pos = torch.arange(CROP)[None, :]
    x = x.masked_fill((pos >= cut) & (pos < cut + 32), 0.0)
    gain = 0.5 * 4.0 ** torch.rand(b, 1)
    sign = torch.where(torch.rand(b, 1) < 0.5, -1.0, 1.0)
    return x * gain * sign


class SpectralEncoder(nn.Module):
    def __init__(self, clean=False):
        super().__init__()
        self.clean = clean
        self.enc = nn.Sequential(nn.Linear(CROP // 2 + 1, 128), nn.GELU(), nn.Linear(128, 64))
        self.proj = nn.Sequential(nn.GELU(), nn.Linear(64, 32))

    def standardise(self, x):
        mu = x.mean(-1, keepdim=True)
        sd = x.std(-1, keepdim=True)
        if self.clean:
            sd = sd.clamp_min(1e-5)
        return (x - mu) / sd

    def forward(self, x):
        z = self.standardise(x)
        spec = torch.fft.rfft(z, dim=-1)
        feats = torch.log1p(spec.abs())
        with torch.autocast("cpu", dtype=torch.bfloat16):
            h = self.enc(feats)
            p = self.proj(h)
        return p.float()


def nt_xent(p1, p2, tau=0.1):
    z = F.normalize(torch.cat([p1, p2]), dim=-1)
    sim = z @ z.t() / tau
    n = p1.shape[0]
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="clamp the std in the per-window standardisation")
    ap.add_argument("--steps", type=int, default=250)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    data = RigWindows(make_rig_windows())
    loader = DataLoader(data, batch_size=32, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(1))
    model = SpectralEncoder(clean=args.clean)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)

    losses = []
    step = 0
    while step < args.steps:
        for x, idx in loader:
            if step >= args.steps:
                break
            p1, p2 = model(augment(x)), model(augment(x))
            loss = nt_xent(p1, p2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 20 == 0 or step == args.steps - 1:
                print(f"step {step:4d}  nt_xent {loss.item():.4f}")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
