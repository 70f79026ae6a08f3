"""Hourly bike-rental demand: an MLP with a log link trained with Poisson NLL.

Model: one-hot hour-of-day plus weather/calendar features go through a
two-hidden-layer MLP that outputs the log of the expected rental count; the
loss is ``F.poisson_nll_loss(log_rate, count, log_input=True)``, i.e.
``exp(log_rate) - count * log_rate``.  Optimiser: SGD with Nesterov momentum,
linear warmup for 80 steps to a peak learning rate, then cosine decay, for
300 steps in total.

What goes wrong: the warmup peak (lr=0.1) is far too high for a Poisson loss
whose gradient is ``exp(log_rate) - count``.  While the learning rate ramps up
the updates start to overshoot, a few predicted log-rates get pushed very
large: the loss climbs from about step 43, ``exp`` overflows to inf at step 47
(still in warmup, lr ~0.06) and the parameters are NaN from then on.

``--clean``: peak learning rate 0.01 instead of 0.1; everything else
(data, model, schedule shape, step count) is identical, and the loss converges.
"""
# recover-heldout: {"category": "learning_rate_too_high", "bad_samples": [], "nan_step": 47}
import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.set_num_threads(1)

N_ROWS = 4000
BATCH = 128
TOTAL_STEPS = 300
WARMUP = 80


def make_rentals(n, g):
    hour = torch.randint(0, 24, (n,), generator=g)
    temp_c = torch.randn(n, generator=g) * 8.0 + 15.0
    humidity = torch.rand(n, generator=g)
    weekend = (torch.rand(n, generator=g) < 2.0 / 7.0).float()
    rain = (torch.rand(n, generator=g) < 0.15).float()
    h = hour.float()
    rush = torch.exp(-((h - 8.0) ** 2) / 3.0) + torch.exp(-((h - 17.5) ** 2) / 4.0)
    leisure = torch.exp(-((h - 14.0) ** 2) / 18.0)
    night = ((h < 6) | (h > 22)).float()
    log_rate = (2.2 + 1.6 * rush * (1 - weekend) + 1.0 * leisure * weekend
                + 0.04 * (temp_c - 15.0) - 0.9 * rain - 0.6 * humidity - 1.5 * night)
    counts = torch.poisson(torch.exp(log_rate), generator=g)
    feats = torch.cat([
        F.one_hot(hour, 24).float(),
        ((temp_c - 15.0) / 8.0).unsqueeze(1),
        humidity.unsqueeze(1),
        weekend.unsqueeze(1),
        rain.unsqueeze(1),
        torch.stack([torch.sin(2 * math.pi * h / 24), torch.cos(2 * math.pi * h / 24)], 1),
    ], dim=1)
    return feats, counts


class RentalNet(nn.Module):
    def __init__(self, d_in, hidden=128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(d_in, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
        )
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.head(self.body(x)).squeeze(-1)


def lr_at(step, peak):
    if step < WARMUP:
        return peak * (step + 1) / WARMUP
    progress = (step - WARMUP) / max(1, TOTAL_STEPS - WARMUP)
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true")
    args = parser.parse_args()

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1234)
    x, y = make_rentals(N_ROWS, g)
    ds = TensorDataset(x, y)
    loader = DataLoader(ds, batch_size=BATCH, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(7))

    model = RentalNet(x.shape[1])
    with torch.no_grad():
        model.head.bias.fill_(math.log(y.mean().item()))

    peak_lr = 0.01 if args.clean else 0.1
    opt = torch.optim.SGD(model.parameters(), lr=lr_at(0, peak_lr), momentum=0.9, nesterov=True)

    losses = []
    step = 0
    while step < TOTAL_STEPS:
        for xb, yb in loader:
            if step >= TOTAL_STEPS:
                break
            for group in opt.param_groups:
                group["lr"] = lr_at(step, peak_lr)
            log_rate = model(xb)
            loss = F.poisson_nll_loss(log_rate, yb, log_input=True)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 25 == 0:
                print(f"step {step:3d}  lr {opt.param_groups[0]['lr']:.5f}  loss {loss.item():.4f}")
            step += 1

    final = sum(losses[-10:]) / 10
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
