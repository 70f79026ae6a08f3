"""Deep plain ReLU MLP (no normalisation, no residuals) for tabular regression.

Model: a 30-hidden-layer, width-64 ReLU MLP predicting a synthetic "energy
consumption" target from 16 standardised sensor features, trained with MSE,
SGD + Nesterov momentum and a OneCycle LR schedule (peak 0.1 at step 120).
The weights are initialised with a hand-picked ``normal(std=0.19)``, which
for fan-in 64 is a gain of ~1.52 instead of He's sqrt(2): every layer
amplifies the signal (and the backward signal) by ~7.5%, i.e. ~10x end to
end, with nothing (no norm layers, no residuals) to rein it in.

What goes wrong: the loss drops from ~2 to ~0.9 over the first ~90 steps
while the OneCycle warm-up raises the LR.  With the ~10x gain across the
stack the loss surface is very sharp; as the LR approaches its peak (~0.09
at step ~90) one step lands in a steep region, the largest gradient entry
jumps from <1 to ~50 and then ~1e11 (loss 32 -> 6e10 at steps 90-91), the
weights blow up and from step 92 the forward pass overflows: loss and
gradients are nan for the rest of training.

--clean: adds torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
before optimizer.step(); same seed, data order and schedule, and training
converges.
"""
# recover-heldout: {"category": "exploding_gradients", "bad_samples": [], "nan_step": 92}
import argparse
import math

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.set_num_threads(1)

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true")
args = parser.parse_args()

torch.manual_seed(0)

N_TRAIN, N_FEAT = 8192, 16
DEPTH, WIDTH = 30, 64
STEPS = 400
LR = 0.1  # OneCycle peak LR
INIT_STD = 0.19


def make_data(n, g):
    x = torch.randn(n, N_FEAT, generator=g)
    temp, humid, occ = x[:, 0], x[:, 1], x[:, 2]
    y = (
        2.0 * torch.tanh(temp) + 0.5 * temp ** 2
        + humid * occ
        + torch.sin(2.0 * x[:, 3]) * x[:, 4]
        + 0.3 * x[:, 5:].sum(1)
        + 0.1 * torch.randn(n, generator=g)
    )
    y = (y - y.mean()) / y.std()
    return x, y.unsqueeze(1)


class DeepMLP(nn.Module):
    def __init__(self, d_in, width, depth):
        super().__init__()
        layers = [nn.Linear(d_in, width), nn.ReLU()]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), nn.ReLU()]
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=INIT_STD)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.net(x)


g = torch.Generator().manual_seed(1)
x, y = make_data(N_TRAIN, g)
loader = DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True,
                    generator=torch.Generator().manual_seed(2), drop_last=True)

model = DeepMLP(N_FEAT, WIDTH, DEPTH)
optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9, nesterov=True)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, total_steps=STEPS, pct_start=0.3)
loss_fn = nn.MSELoss()

losses = []
step = 0
while step < STEPS:
    for xb, yb in loader:
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        if args.clean:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        if step % 25 == 0:
            print(f"step {step:4d}  loss {losses[-1]:.4f}  lr {scheduler.get_last_lr()[0]:.4g}")
        step += 1
        if step >= STEPS:
            break

print(f"final_loss={sum(losses[-10:]) / 10}")
