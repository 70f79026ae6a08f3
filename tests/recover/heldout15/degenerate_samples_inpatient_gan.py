"""Synthetic inpatient-stay table generation with a small tabular GAN.

Model: a GAN for one-row-per-stay hospital data.  The generator (2-layer
LeakyReLU MLP from 16-d noise) emits age (z-scored), length of stay in
nights (softplus, positive), number of procedures (softplus), log total
charges, and a Gumbel-softmax one-hot admission type.  The critic first
computes domain features from a row - log1p of the counts, centred log
charges and the log charge per day, log(charges / length_of_stay) - and
feeds them to a 3-layer MLP whose linear layers are wrapped in
torch.nn.utils.parametrizations.spectral_norm.  Classic alternating loop
with two Adam optimizers (lr 5e-4, betas 0.5/0.999), both zeroed with
zero_grad(set_to_none=False): the critic is stepped on its BCE loss for real
rows vs. fake.detach(), then the generator on the non-saturating loss through
the updated critic.  Batch 64, 400 steps; the logged loss is
loss_d + loss_g.

Data: 3000 synthetic stays generated in-script (age, admission type, a
Poisson length of stay of at least one night, procedures and log-normal
charges that depend on them).  Four rows - dataset indices 888, 1290, 1750
and 2888 - are same-day stays (admitted and discharged on the same day,
length of stay 0).  These are legitimate records, not corrupt ones.

What goes wrong: the critic's log-charge-per-day feature is
log_charges - log(length_of_stay), which is +inf for a same-day stay; the
spectral-normed first layer spreads it into +inf and -inf activations, the
second layer sums them into inf - inf = NaN, the critic output and loss_d
are NaN, every critic gradient is NaN, and after the critic step its
weights (and spectral-norm power-iteration vectors) are NaN, so the generator
loss and gradients at the same step are NaN too.  Training is normal (loss_d
~1.36, loss_g ~0.68) until the first batch holding one of those rows: step
24, counted from 0 (row 2888).  Both networks stay NaN to the end.

--clean: the critic bills a same-day stay as one day
(log(length_of_stay.clamp(min=1))) in that feature; nothing else changes.
The GAN then trains for all 400 steps with loss_d ~1.3 and loss_g ~0.73
(final loss ~2.06).
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [888, 1290, 1750, 2888], "nan_step": 24}

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm
from torch.utils.data import DataLoader, TensorDataset

Z_DIM = 16
N_ADM = 3          # admission type: elective / urgent / emergency


def make_stays(n=3000, seed=21):
    """Synthetic inpatient-stay table (one row per hospital stay)."""
    g = torch.Generator().manual_seed(seed)
    adm = torch.multinomial(torch.tensor([0.45, 0.30, 0.25]), n, replacement=True, generator=g)
    age = (58 + 17 * torch.randn(n, generator=g)).clamp(18, 95)
    los_rate = 1.5 + 0.04 * (age - 18) + 1.8 * (adm == 2).float() + 0.8 * (adm == 1).float()
    los = 1 + torch.poisson(los_rate, generator=g)                          # nights, >= 1
    nproc = torch.poisson(0.6 + 0.35 * los + 1.2 * (adm == 0).float(), generator=g)
    log_charges = (7.6 + 0.55 * torch.log(los) + 0.18 * nproc
                   + 0.3 * (adm == 2).float() + 0.35 * torch.randn(n, generator=g))
    # A handful of stays were admitted and discharged on the same day
    # (observation stays / transfers out): length of stay 0.
    same_day = torch.tensor([888, 1290, 1750, 2888])
    los[same_day] = 0.0
    age_z = (age - age.mean()) / age.std()
    table = torch.cat([age_z[:, None], los[:, None], nproc[:, None], log_charges[:, None],
                       F.one_hot(adm, N_ADM).float()], dim=1)
    return table


class Featurizer(nn.Module):
    """Domain features fed to the critic: raw columns plus log charge per day."""

    def __init__(self, clamp_los=False):
        super().__init__()
        self.clamp_los = clamp_los

    def forward(self, row):
        los, nproc, log_charges = row[:, 1:2], row[:, 2:3], row[:, 3:4]
        billed_days = los.clamp(min=1.0) if self.clamp_los else los
        log_daily = log_charges - torch.log(billed_days)
        return torch.cat([row[:, :1], torch.log1p(los), torch.log1p(nproc),
                          log_charges - 8.0, log_daily - 7.5, row[:, 4:]], dim=1)


class Generator(nn.Module):
    def __init__(self, h=96):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(Z_DIM, h), nn.LeakyReLU(0.2),
                                  nn.Linear(h, h), nn.LeakyReLU(0.2))
        self.out = nn.Linear(h, 4 + N_ADM)

    def forward(self, z, tau=0.5):
        o = self.out(self.body(z))
        age_z = o[:, :1]
        los = F.softplus(o[:, 1:2]) * 4.0                  # positive nights
        nproc = F.softplus(o[:, 2:3]) * 2.0
        log_charges = 8.0 + o[:, 3:4]
        adm = F.gumbel_softmax(o[:, 4:], tau=tau)
        return torch.cat([age_z, los, nproc, log_charges, adm], dim=1)


class Critic(nn.Module):
    def __init__(self, h=96, clamp_los=False):
        super().__init__()
        self.feat = Featurizer(clamp_los)
        self.net = nn.Sequential(
            spectral_norm(nn.Linear(5 + N_ADM, h)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Linear(h, h)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Linear(h, 1)),
        )

    def forward(self, row):
        return self.net(self.feat(row)).squeeze(-1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true",
                    help="clamp the length of stay to >= 1 day in the log-charge-per-day feature")
    ap.add_argument("--steps", type=int, default=400)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    table = make_stays()
    loader = DataLoader(TensorDataset(table), batch_size=64, shuffle=True, drop_last=True)
    G, D = Generator(), Critic(clamp_los=args.clean)
    opt_g = torch.optim.Adam(G.parameters(), lr=5e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=5e-4, betas=(0.5, 0.999))

    losses = []
    step = 0
    while step < args.steps:
        for (real,) in loader:
            if step >= args.steps:
                break
            z = torch.randn(real.shape[0], Z_DIM)
            fake = G(z)

            # critic update: real rows vs. detached generator rows
            opt_d.zero_grad(set_to_none=False)
            d_real, d_fake = D(real), D(fake.detach())
            loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                      + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
            loss_d.backward()
            opt_d.step()

            # generator update: non-saturating loss through the updated critic
            opt_g.zero_grad(set_to_none=False)
            d_gen = D(fake)
            loss_g = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
            loss_g.backward()
            opt_g.step()

            losses.append(loss_d.item() + loss_g.item())
            if step % 25 == 0 or step == args.steps - 1:
                print(f"step {step:4d}  loss_d {loss_d.item():.4f}  loss_g {loss_g.item():.4f}")
            step += 1

    with torch.no_grad():
        sample = G(torch.randn(2000, Z_DIM))
    print("real mean  los %.2f  nproc %.2f  log_charges %.2f" % tuple(table[:, 1:4].mean(0).tolist()))
    print("synth mean los %.2f  nproc %.2f  log_charges %.2f" % tuple(sample[:, 1:4].mean(0).tolist()))
    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
