"""Heteroscedastic period-luminosity fit from variable-star light curves (float64).

Model: a small MLP, run entirely in float64 (model.double()) because this
is a calibration fit whose residuals are read off at the 1e-3 mag level.
Each light curve (128 photometric samples, evenly phased) is turned into
features by a fixed spectral front end: torch.fft.rfft of the mean-subtracted
magnitudes, the complex spectrum's modulus .abs() (65 bins, log1p
compressed), plus the curve's mean magnitude.  The MLP (66 -> 64 -> 64 -> 2,
SiLU) predicts the absolute magnitude M and a log-variance; the loss is
F.gaussian_nll_loss(mean, target, exp(log_var), full=True) plus a constant 3.0
so the logged value stays positive (the constant has no effect on the
gradients).  Adam, lr 2e-3, batch 32, 300 steps, DataLoader(shuffle=True)
over a map-style Dataset with a seeded generator.

Data: 1800 synthetic Cepheid-like stars generated in-script.  Each star has a
log-period, a pulsation amplitude and a saw-tooth-ish light-curve shape whose
harmonic content depends on the period; the target absolute magnitude follows
a period-luminosity relation M = -2.43 (log P - 1) - 4.05 with intrinsic
scatter that grows with the period (so the noise is heteroscedastic).

What goes wrong: four catalogue rows are corrupt.  Stars 283 and 1377 have
light curves with NaN magnitudes (frames flagged as bad by the reduction
pipeline were written out as NaN instead of being dropped), star 964 has an
Inf magnitude in one frame (a saturated frame divided by a zero flat-field
value), and star 1502 has a target of NaN (missing parallax in the
cross-match).  rfft spreads a single NaN/Inf over the whole spectrum, so the
first batch that contains one of them gives a NaN prediction and a NaN loss.
Training is normal before that (loss 6.4 -> ~4.1); with this seed the first
such batch is step 48 (counted from 0), which holds star 964.  Its NaN
gradients go through Adam into every parameter, and the loss is NaN for every
later step.

--clean: drops the samples whose light curve or target is not finite
(torch.isfinite check over the whole table before building the Dataset);
nothing else changes.  The run then trains from a logged loss of ~5.5 to a
mean of ~2.5 (gaussian NLL ~ -0.5, plus 3.0) over the last 20 steps, with a
prediction RMSE of ~0.15 mag.
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [283, 964, 1377, 1502], "nan_step": 48}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

N_STARS = 1800
N_PHASE = 128


def make_catalogue(n=N_STARS, seed=11):
    g = torch.Generator().manual_seed(seed)
    logp = 0.4 + 1.3 * torch.rand(n, generator=g, dtype=torch.float64)        # log10 period in days
    amp = 0.2 + 0.6 * torch.rand(n, generator=g, dtype=torch.float64)
    phase = torch.linspace(0, 2 * math.pi, N_PHASE + 1, dtype=torch.float64)[:-1]
    # saw-tooth-like shape: harmonic content increases with period (Hertzsprung progression-ish)
    curves = torch.zeros(n, N_PHASE, dtype=torch.float64)
    for k in range(1, 6):
        w = (0.55 ** (k - 1)) * torch.exp(0.9 * (logp - 1.0) * (k - 1))
        off = 0.4 * k * logp
        curves += w[:, None] * torch.sin(k * phase[None, :] + off[:, None])
    curves = amp[:, None] * curves / curves.abs().amax(1, keepdim=True)
    abs_mag = -2.43 * (logp - 1.0) - 4.05
    scatter = 0.04 + 0.18 * (logp - 0.4) / 1.3                                  # heteroscedastic
    abs_mag = abs_mag + scatter * torch.randn(n, generator=g, dtype=torch.float64)
    app_mean = 12.0 + 2.0 * torch.rand(n, generator=g, dtype=torch.float64)
    curves = curves + app_mean[:, None] + 0.01 * torch.randn(n, N_PHASE, generator=g, dtype=torch.float64)
    # corrupt catalogue rows
    curves[283, [17, 18, 19, 90]] = float("nan")
    curves[1377, 64] = float("nan")
    curves[964, 5] = float("inf")
    abs_mag[1502] = float("nan")
    return curves, abs_mag


class LightCurveSet(Dataset):
    def __init__(self, curves, targets):
        self.curves = curves
        self.targets = targets

    def __len__(self):
        return len(self.curves)

    def __getitem__(self, i):
        return self.curves[i], self.targets[i]


class PLNet(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(N_PHASE // 2 + 2, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, 2),
        )

    def features(self, lc):
        mean = lc.mean(-1, keepdim=True)
        spec = torch.fft.rfft(lc - mean, dim=-1)            # complex128
        mag = torch.log1p(spec.abs() / N_PHASE * 20.0)
        return torch.cat([mag, mean - 13.0], dim=-1)

    def forward(self, lc):
        out = self.mlp(self.features(lc))
        return out[:, 0] - 4.0, out[:, 1] - 2.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="drop catalogue rows with non-finite values")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    curves, targets = make_catalogue()
    if args.clean:
        keep = torch.isfinite(curves).all(1) & torch.isfinite(targets)
        print(f"dropping {int((~keep).sum())} corrupt rows: {torch.nonzero(~keep).flatten().tolist()}")
        curves, targets = curves[keep], targets[keep]
    loader = DataLoader(LightCurveSet(curves, targets), batch_size=32, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(0))

    model = PLNet().double()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)

    losses = []
    step = 0
    while step < args.steps:
        for lc, m_abs in loader:
            if step >= args.steps:
                break
            mean, log_var = model(lc)
            loss = F.gaussian_nll_loss(mean, m_abs, log_var.exp(), full=True) + 3.0
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 20 == 0 or step == args.steps - 1:
                rmse = (mean - m_abs).pow(2).mean().sqrt().item()
                print(f"step {step:4d}  loss {loss.item():.4f}  rmse {rmse:.4f}")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
