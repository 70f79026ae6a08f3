"""Modulation recognition + SNR estimation on complex baseband IQ bursts (fp16 AMP).

Model: a learned complex filterbank front end followed by an MLP.  For each
burst z (64 complex64 samples) the powers z, z^2 and z^4 (which turn the
carrier of BPSK / PAM, and of QPSK, into spectral lines) each go through
their own complex linear map 64 -> 32 (weights stored as real and imaginary
nn.Parameters and combined with torch.complex), the complex outputs are
reduced with .abs() and log1p to 96 real features, and an MLP
96 -> 128 -> 128 -> 7 (ReLU) gives 6 modulation logits and an SNR estimate.
The MLP runs under torch.autocast("cpu", dtype=torch.float16) with a
torch.amp.GradScaler("cpu") (scale / step / update every step).  Loss:
F.cross_entropy(logits, label, label_smoothing=0.1) + 0.5 * MSE of the
standardised SNR in dB.  SGD with momentum 0.9 and a linear warm-up of the
learning rate over the first 50 steps (LambdaLR), batch 64, 300 steps,
DataLoader (shuffle=True, seeded generator) over a TensorDataset.

Data: 6144 synthetic bursts generated in-script: BPSK, QPSK, 8PSK, 16QAM,
4PAM and 16APSK symbols (unit average power) with a random carrier phase, a
small carrier frequency offset, and AWGN at an SNR drawn from 2 - 18 dB.  The
data are clean.

What goes wrong: the peak learning rate is 1.0, far too large for plain SGD
+ momentum on this network (the unbounded SNR regression head makes the
loss curvature large).  While the warm-up keeps the rate small the run
trains normally (loss 2.2 - 4.1 for the first 36 steps, close to the
clean run at that point); once the rate passes ~0.7 the updates overshoot:
at step 36 the loss jumps to ~170, and at step 44 to ~7e5 (the SNR output is
~1e3).  From there most steps' fp16 gradients overflow, so the GradScaler
skips them and keeps halving its scale, and the few steps it lets through
throw the weights further out; at step 57 (counted from 0) the fp16 forward
pass overflows and the loss is NaN.  From then on every batch's forward pass
overflows, the loss is NaN at every step (the scaler skips every step and its
scale decays to 0), and the run never recovers.

--clean: uses a peak learning rate of 0.05 (same warm-up, same optimizer);
nothing else changes.  The run then trains from 2.36 to a mean loss of ~1.3
over the last 20 steps (modulation accuracy ~55 % on the training batches,
limited by the low-SNR bursts).
"""
# recover-heldout: {"category": "learning_rate_too_high", "nan_step": 57}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

N_SAMP = 64
MODS = ["BPSK", "QPSK", "8PSK", "16QAM", "4PAM", "16APSK"]


def constellations():
    pam4 = torch.tensor([-3.0, -1.0, 1.0, 3.0])
    c = {
        "BPSK": torch.tensor([1.0, -1.0]).to(torch.complex64),
        "QPSK": torch.exp(1j * (math.pi / 4 + math.pi / 2 * torch.arange(4))).to(torch.complex64),
        "8PSK": torch.exp(1j * (math.pi / 4 * torch.arange(8))).to(torch.complex64),
        "16QAM": (pam4[:, None] + 1j * pam4[None, :]).flatten().to(torch.complex64),
        "4PAM": pam4.to(torch.complex64),
        "16APSK": torch.cat([0.5 * torch.exp(1j * (math.pi / 4 * torch.arange(8))),
                             torch.exp(1j * (math.pi / 8 + math.pi / 4 * torch.arange(8)))]).to(torch.complex64),
    }
    return [c[m] / c[m].abs().pow(2).mean().sqrt() for m in MODS]


def make_bursts(n=6144, seed=0):
    g = torch.Generator().manual_seed(seed)
    consts = constellations()
    labels = torch.randint(0, len(MODS), (n,), generator=g)
    x = torch.zeros(n, N_SAMP, dtype=torch.complex64)
    snr_db = torch.zeros(n)
    t = torch.arange(N_SAMP)
    for i in range(n):
        c = consts[int(labels[i])]
        sym = c[torch.randint(0, len(c), (N_SAMP,), generator=g)]
        phase = 2 * math.pi * float(torch.rand(1, generator=g))
        cfo = 0.02 * (float(torch.rand(1, generator=g)) - 0.5)          # cycles / sample
        sym = sym * torch.exp(1j * (phase + 2 * math.pi * cfo * t))
        snr_db[i] = 2.0 + 16.0 * float(torch.rand(1, generator=g))
        sigma = math.sqrt(0.5 / 10 ** (float(snr_db[i]) / 10))
        noise = torch.complex(torch.randn(N_SAMP, generator=g), torch.randn(N_SAMP, generator=g)) * sigma
        x[i] = sym + noise
    return x, labels, (snr_db - 10.0) / 4.6


class ComplexLinear(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.w_re = nn.Parameter(torch.randn(n_out, n_in) / math.sqrt(2 * n_in))
        self.w_im = nn.Parameter(torch.randn(n_out, n_in) / math.sqrt(2 * n_in))

    def forward(self, z):
        return z @ torch.complex(self.w_re, self.w_im).t()


class AMCNet(nn.Module):
    POWERS = (1, 2, 4)

    def __init__(self, n_filters=32, hidden=128):
        super().__init__()
        self.filterbanks = nn.ModuleList([ComplexLinear(N_SAMP, n_filters) for _ in self.POWERS])
        self.mlp = nn.Sequential(
            nn.Linear(n_filters * len(self.POWERS), hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, len(MODS) + 1),
        )

    def forward(self, z):
        feats = torch.cat([torch.log1p(fb(z ** k).abs()) for fb, k in zip(self.filterbanks, self.POWERS)], dim=-1)
        with torch.autocast("cpu", dtype=torch.float16):
            out = self.mlp(feats)
        out = out.float()
        return out[:, :len(MODS)], out[:, len(MODS)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="use a sensible peak learning rate (0.05)")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    x, labels, snr = make_bursts()
    loader = DataLoader(TensorDataset(x, labels, snr), batch_size=64, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(0))
    model = AMCNet()
    peak_lr = 0.05 if args.clean else 1.0
    opt = torch.optim.SGD(model.parameters(), lr=peak_lr, momentum=0.9)
    warmup = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50))
    scaler = torch.amp.GradScaler("cpu")

    losses = []
    step = 0
    while step < args.steps:
        for z, y, s in loader:
            if step >= args.steps:
                break
            logits, snr_hat = model(z)
            loss = F.cross_entropy(logits, y, label_smoothing=0.1) + 0.5 * F.mse_loss(snr_hat, s)
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            warmup.step()
            losses.append(loss.item())
            if step % 20 == 0 or step == args.steps - 1:
                acc = (logits.argmax(1) == y).float().mean().item()
                print(f"step {step:4d}  loss {loss.item():.4f}  acc {acc:.3f}  "
                      f"lr {warmup.get_last_lr()[0]:.4f}  scale {scaler.get_scale():.3g}")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
