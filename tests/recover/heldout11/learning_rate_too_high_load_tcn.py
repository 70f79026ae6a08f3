"""Short-term electricity-load forecasting with a small temporal conv net.

Model: a 1-D temporal convolutional network (3 dilated Conv1d layers with tanh,
16 channels, then a linear head) that reads the last 48 hourly load readings
of a feeder and predicts the next 12 hours.  Trained with SGD + momentum 0.9
on MSE, batch 64, 250 optimizer steps, with an 80-step linear learning-rate
warmup to a peak of 1.0 followed by a constant rate.

Data: 16 synthetic feeders, 60 days of hourly load each (daily and weekly
cycles, a slow trend, noise), z-scored with the global mean/std, cut into
sliding windows (48 h in, 12 h out, stride 6 h).

What goes wrong: the peak learning rate is far too high for SGD + momentum
on this MSE problem (the head sees 768 flattened conv features).  Training
is fine while the warmup rate is small, but once the rate passes the
stability limit (around step 15) the weights start oscillating with growing
amplitude, the loss explodes to inf (first non-finite loss at step 31,
counted from 0), the weights turn NaN a few steps later (NaN loss from step
35), and it stays NaN for the rest of the run.

--clean: uses a peak learning rate of 0.1 (lr / 10), same warmup and
everything else unchanged; the run then converges to a low MSE.
"""
# recover-heldout: {"category": "learning_rate_too_high", "bad_samples": [], "nan_step": 31}

import argparse
import math

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

CONTEXT = 48
HORIZON = 12


def make_load_windows(seed=0):
    g = torch.Generator().manual_seed(seed)
    hours = torch.arange(60 * 24, dtype=torch.float32)
    xs, ys = [], []
    for _ in range(16):
        base = 3.0 + 3.0 * torch.rand(1, generator=g)
        daily = 1.2 * torch.sin(2 * math.pi * (hours - 7.0) / 24.0)
        weekly = 0.5 * torch.sin(2 * math.pi * hours / (24.0 * 7.0) + torch.rand(1, generator=g) * 6.0)
        trend = 0.3 * hours / hours[-1]
        noise = 0.15 * torch.randn(hours.shape, generator=g)
        load = base + daily + weekly + trend + noise
        for t in range(0, len(hours) - CONTEXT - HORIZON, 6):
            xs.append(load[t:t + CONTEXT])
            ys.append(load[t + CONTEXT:t + CONTEXT + HORIZON])
    x, y = torch.stack(xs).unsqueeze(1), torch.stack(ys)
    mu, sd = x.mean(), x.std()  # global z-scoring of the load values
    return (x - mu) / sd, (y - mu) / sd


class LoadTCN(nn.Module):
    def __init__(self, ch=16):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv1d(1, ch, 3, dilation=1, padding=1), nn.Tanh(),
            nn.Conv1d(ch, ch, 3, dilation=2, padding=2), nn.Tanh(),
            nn.Conv1d(ch, ch, 3, dilation=4, padding=4), nn.Tanh(),
        )
        self.head = nn.Linear(ch * CONTEXT, HORIZON)

    def forward(self, x):
        return self.head(self.convs(x).flatten(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true",
                        help="use peak lr / 10")
    parser.add_argument("--steps", type=int, default=250)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    x, y = make_load_windows()
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, drop_last=True)
    model = LoadTCN()

    peak_lr = 1.0
    if args.clean:
        peak_lr = peak_lr / 10
    warmup = 80
    opt = torch.optim.SGD(model.parameters(), lr=peak_lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup))
    loss_fn = nn.MSELoss()

    losses = []
    step = 0
    while step < args.steps:
        for xb, yb in loader:
            if step >= args.steps:
                break
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            if step % 20 == 0:
                print(f"step {step:4d}  lr {opt.param_groups[0]['lr']:.4f}  loss {loss.item():.4f}")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
