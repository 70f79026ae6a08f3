"""Hourly bike-share rentals per station: Poisson MLP with RMSprop and a cyclic learning rate.

Model: a count regressor with a log link.  A learned station embedding
(nn.Embedding(40, 8)) is concatenated with 8 calendar/weather features and fed
to a 16-64-64-1 ReLU MLP whose output is the log rental rate; the loss is
F.poisson_nll_loss(log_rate, count, log_input=True, full=True).  Optimiser:
torch.optim.RMSprop (alpha 0.99) with two parameter groups -- the MLP trunk
with weight_decay 1e-5 and the station embeddings without weight decay and
with a 3x larger learning rate.  The learning rate follows CyclicLR
(mode "triangular2", step_size_up 100, cycle_momentum False) from base_lr
1e-4 up to max_lr = [0.2, 0.6] (trunk, embeddings).  zero_grad(set_to_none=True)
every step.  Batch 512 drawn at random (seeded) from the data, 300 steps.

Data: 20000 synthetic station-hours generated in-script: 40 stations with
their own popularity and commuter share, hour of day (two harmonics),
weekend flag, temperature, rain and wind.  Counts are Poisson draws from a
log-rate with commuter peaks at 8:00 and 17:30, a weekend leisure bump and
weather penalties.  The data are clean.

What goes wrong: the peak learning rate is far too high for RMSprop.  While
the cyclic schedule is still low the model learns (loss 3.13 at step 0 ->
~2.4 around step 40, trunk lr ~0.08); as the trunk lr ramps past ~0.1 the
loss starts jumping (65 at step 54, 11-27 at steps 56-58, then 4-5), and at
step 82 (counted from 0; trunk lr ~0.165, embedding lr ~0.49) the log-rate
output reaches ~395, exp() overflows, the loss is inf, the gradients are
inf/NaN, RMSprop writes NaN into the weights and the loss stays NaN for the
rest of the run (final_loss=nan).

--clean: uses max_lr = [3e-3, 9e-3] (a sensible RMSprop range) instead of
[0.2, 0.6]; nothing else changes.  The run then trains to a mean Poisson
NLL of ~1.65 over the last 20 steps (down from 3.13).
"""
# recover-heldout: {"category": "learning_rate_too_high", "nan_step": 82}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

N_STATIONS = 40
STEPS = 300


def make_rentals(n=20000, seed=8):
    g = torch.Generator().manual_seed(seed)
    station = torch.randint(0, N_STATIONS, (n,), generator=g)
    hour = torch.randint(0, 24, (n,), generator=g).float()
    dow = torch.randint(0, 7, (n,), generator=g)
    temp = 15 + 8 * torch.randn(n, generator=g)
    rain = (torch.rand(n, generator=g) < 0.15).float() * torch.rand(n, generator=g) * 8   # mm/h
    wind = (3 + 2 * torch.randn(n, generator=g)).abs()
    weekend = (dow >= 5).float()

    popularity = torch.randn(N_STATIONS, generator=g) * 0.7 + 1.0
    commuter = torch.rand(N_STATIONS, generator=g)
    peak = torch.exp(-(hour - 8) ** 2 / 3) + torch.exp(-(hour - 17.5) ** 2 / 4)
    leisure = torch.exp(-(hour - 14) ** 2 / 12)
    log_rate = (popularity[station] + 1.5 * commuter[station] * peak * (1 - weekend)
                + 1.2 * leisure * (0.5 + weekend) - 0.25 * rain - 0.002 * (temp - 22) ** 2
                - 0.05 * wind - 0.6 * (hour < 6).float())
    counts = torch.poisson(torch.exp(log_rate), generator=g)

    x = torch.stack([torch.sin(hour / 24 * 2 * math.pi), torch.cos(hour / 24 * 2 * math.pi),
                     torch.sin(hour / 12 * 2 * math.pi), torch.cos(hour / 12 * 2 * math.pi),
                     weekend, (temp - 15) / 8, rain / 4, (wind - 3) / 2], 1)
    return station, x, counts


class RentalNet(nn.Module):
    def __init__(self, d_in=8, d_emb=8, hidden=64):
        super().__init__()
        self.station = nn.Embedding(N_STATIONS, d_emb)
        self.trunk = nn.Sequential(nn.Linear(d_in + d_emb, hidden), nn.ReLU(),
                                   nn.Linear(hidden, hidden), nn.ReLU(),
                                   nn.Linear(hidden, 1))

    def forward(self, station, x):
        return self.trunk(torch.cat([self.station(station), x], -1)).squeeze(-1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="use a sensible peak learning rate")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    station, x, counts = make_rentals()
    model = RentalNet()
    opt = torch.optim.RMSprop([
        {"params": model.trunk.parameters(), "weight_decay": 1e-5},
        {"params": model.station.parameters(), "weight_decay": 0.0},
    ], lr=1e-4, alpha=0.99)
    peak_lr = 3e-3 if args.clean else 0.2
    sched = torch.optim.lr_scheduler.CyclicLR(opt, base_lr=[1e-4, 1e-4], max_lr=[peak_lr, 3 * peak_lr],
                                              step_size_up=100, mode="triangular2", cycle_momentum=False)

    batch_gen = torch.Generator().manual_seed(1)
    losses = []
    for step in range(STEPS):
        idx = torch.randint(0, len(counts), (512,), generator=batch_gen)
        opt.zero_grad(set_to_none=True)
        log_rate = model(station[idx], x[idx])
        loss = F.poisson_nll_loss(log_rate, counts[idx], log_input=True, full=True)
        loss.backward()
        opt.step()
        sched.step()

        losses.append(loss.item())
        if step % 20 == 0 or step == STEPS - 1:
            print(f"step {step:4d}  poisson_nll {loss.item():.4f}  lr {sched.get_last_lr()[0]:.3g}")

    print(f"final_loss={sum(losses[-20:]) / 20}")


if __name__ == "__main__":
    main()
