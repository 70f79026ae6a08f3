"""Tabular regression MLP (building energy load from 24 standardised sensor
features) trained with SGD + Nesterov momentum and a linear-warmup / cosine
learning-rate schedule.

Model: 24 -> 256 -> 256 -> 1 ReLU MLP, MSE on a standardised target.  Synthetic
data: 8192 rows of correlated features; the target mixes a linear term, a
smooth nonlinearity and a feature interaction, plus noise.

What goes wrong: the schedule warms up over 60 steps to a peak learning rate of
1.0 (copied from a large-batch image recipe), far above what this unnormalised
MLP tolerates with momentum 0.9.  Training goes fine for the first ~35 steps
while the warm-up LR is small; once the LR passes ~0.7 the iterates start to
oscillate with growing amplitude, the loss blows up (30 -> 6000 -> inf at step
~55) and from then on the weights are nan and every loss is nan.

--clean: peak learning rate 0.2 (5x lower), same schedule shape, seed, data and
number of steps.
"""
# recover-heldout: {"category": "learning_rate_too_high", "bad_samples": [], "nan_step": 55}
import argparse
import math
import time

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="use a sane peak learning rate")
args = parser.parse_args()

torch.set_num_threads(1)
torch.manual_seed(0)

N_ROWS = 8192
N_FEAT = 24
BATCH = 128
STEPS = 400
WARMUP = 60
PEAK_LR = 0.2 if args.clean else 1.0


def make_table(n, d, gen):
    mix = torch.randn(d, d, generator=gen) / math.sqrt(d)
    x = torch.randn(n, d, generator=gen) @ mix + 0.3 * torch.randn(n, d, generator=gen)
    x = (x - x.mean(0)) / x.std(0)
    w_lin = torch.randn(d, generator=gen)
    w_sin = torch.randn(d, generator=gen)
    y = (x @ w_lin / math.sqrt(d)
         + torch.sin(2.0 * x @ w_sin / math.sqrt(d))
         + 0.5 * x[:, 0] * x[:, 1]
         + 0.1 * torch.randn(n, generator=gen))
    y = (y - y.mean()) / y.std()
    return x, y.unsqueeze(1)


gen = torch.Generator().manual_seed(42)
features, target = make_table(N_ROWS, N_FEAT, gen)
loader = DataLoader(TensorDataset(features, target), batch_size=BATCH, shuffle=True,
                    drop_last=True, generator=torch.Generator().manual_seed(0))

model = nn.Sequential(
    nn.Linear(N_FEAT, 256), nn.ReLU(),
    nn.Linear(256, 256), nn.ReLU(),
    nn.Linear(256, 1),
)
optimizer = torch.optim.SGD(model.parameters(), lr=PEAK_LR, momentum=0.9, nesterov=True)


def warmup_cosine(s):
    if s < WARMUP:
        return (s + 1) / WARMUP
    return 0.5 * (1.0 + math.cos(math.pi * (s - WARMUP) / (STEPS - WARMUP)))


scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine)
criterion = nn.MSELoss()

losses = []
step = 0
first_bad = None
t0 = time.time()
while step < STEPS:
    for xb, yb in loader:
        loss = criterion(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        if first_bad is None and not math.isfinite(losses[-1]):
            first_bad = step
            print(f"step {step}: non-finite loss {losses[-1]}")
        if step % 25 == 0:
            print(f"step {step:4d}  mse {losses[-1]:.4f}  lr {scheduler.get_last_lr()[0]:.4f}")
        step += 1
        if step >= STEPS:
            break

print(f"trained {STEPS} steps in {time.time() - t0:.1f}s")
print(f"final_loss={sum(losses[-10:]) / 10}")
