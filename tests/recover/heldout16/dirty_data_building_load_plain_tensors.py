"""Hourly building energy-load regression with a hand-rolled MLP kept as plain tensors.

Model: a 10-64-64-1 ReLU MLP written out by hand -- six leaf tensors
(W1, b1, W2, b2, W3, b3) created with requires_grad=True, no nn.Module.
The tensors are handed to torch.optim.NAdam (lr 3e-3) as two parameter
groups: the weight matrices with weight_decay 1e-4 and the biases with no
weight decay.  The learning rate follows CosineAnnealingWarmRestarts
(T_0=100, eta_min=1e-4).  Gradients are cleared by hand every step
(``p.grad = None`` for each tensor).  MSE loss, batch 64, 300 steps.

Data: 3000 synthetic hourly readings from office buildings, generated
in-script: outdoor temperature, humidity, solar irradiance, occupancy,
floor area, wind speed, hour-of-day (sin/cos), weekend flag and weekday.
The target is the metered load (kWh) from a heating/cooling-degree model
plus noise.  A map-style Dataset scales each feature with fixed nominal
constants and the target by 1/50; a DataLoader (shuffle=True, seeded
generator, drop_last) serves the batches.  Three readings are corrupt:
  * index 719:  humidity sensor dropout, the humidity feature is NaN,
  * index 1863: temperature probe offline, the temperature feature is NaN,
  * index 2273: meter register overflow, the target is +inf.

What goes wrong: training is normal for the first 41 batches (loss 5.6 at
step 0 -> ~0.53 at step 40).  The batch at step 41 (counted from 0) is the
first one that contains a corrupt reading (dataset index 719); the
prediction for that row is NaN, so the batch loss and every gradient are
NaN, NAdam writes NaN into all six tensors and the loss stays NaN for the
rest of the run (final_loss=nan).

--clean: drops the readings whose features or target are not finite
(torch.isfinite over each row) before building the Dataset; nothing else
changes.  The run then trains to a mean MSE of ~0.09 over the last 20
steps (scaled units, down from 6.2 at step 0).
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [719, 1863, 2273], "nan_step": 41}

import argparse
import math

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

N_READINGS = 3000
STEPS = 300


def make_readings(n=N_READINGS, seed=11):
    """Synthetic hourly readings (features x, metered load y in kWh)."""
    g = torch.Generator().manual_seed(seed)
    hour = torch.randint(0, 24, (n,), generator=g).float()
    dow = torch.randint(0, 7, (n,), generator=g).float()
    temp = 12 + 10 * torch.randn(n, generator=g)                         # deg C
    hum = (60 + 15 * torch.randn(n, generator=g)).clamp(10, 100)          # %
    solar = torch.sin((hour - 6) / 12 * math.pi).clamp(min=0) * (600 + 200 * torch.rand(n, generator=g))
    office_hours = (hour >= 8) & (hour <= 18) & (dow < 5)
    occ = torch.where(office_hours, 0.6 + 0.4 * torch.rand(n, generator=g), 0.1 * torch.rand(n, generator=g))
    area = 1500 + 3500 * torch.rand(n, generator=g)                      # m^2
    wind = (4 + 3 * torch.randn(n, generator=g)).abs()                   # m/s
    x = torch.stack([temp, hum, solar, occ, area, wind,
                     torch.sin(hour / 24 * 2 * math.pi), torch.cos(hour / 24 * 2 * math.pi),
                     (dow >= 5).float(), dow], 1)
    heating = (16 - temp).clamp(min=0) * (1 + 0.05 * wind)
    cooling = (temp - 22).clamp(min=0) * (1 + 0.01 * (hum - 50))
    load = area / 1000 * (8 + 2.2 * heating + 3.1 * cooling + 20 * occ) - 0.004 * solar * area / 1000
    load = load + 2.0 * torch.randn(n, generator=g)
    # field glitches that made it into the export
    x[719, 1] = float("nan")       # humidity sensor dropout
    x[1863, 0] = float("nan")      # temperature probe offline
    load[2273] = float("inf")      # meter register overflow
    return x, load


class LoadReadings(Dataset):
    CENTER = torch.tensor([12., 60., 200., 0.35, 3250., 4., 0., 0., 0.3, 3.])
    SCALE = torch.tensor([10., 15., 250., 0.35, 1000., 3., 0.7, 0.7, 0.45, 2.])

    def __init__(self, x, y, keep=None):
        self.x, self.y = x, y
        self.keep = list(range(len(y))) if keep is None else keep

    def __len__(self):
        return len(self.keep)

    def __getitem__(self, i):
        j = self.keep[i]
        return (self.x[j] - self.CENTER) / self.SCALE, self.y[j] / 50.0


def he_init(fan_in, fan_out):
    return (torch.randn(fan_in, fan_out) * math.sqrt(2.0 / fan_in)).requires_grad_()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="drop readings with non-finite values")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    x, y = make_readings()
    keep = None
    if args.clean:
        finite = torch.isfinite(x).all(dim=1) & torch.isfinite(y)
        keep = finite.nonzero().flatten().tolist()
        print(f"dropping {len(y) - len(keep)} corrupt readings")
    dataset = LoadReadings(x, y, keep)
    loader = DataLoader(dataset, batch_size=64, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(1))

    W1, b1 = he_init(10, 64), torch.zeros(64, requires_grad=True)
    W2, b2 = he_init(64, 64), torch.zeros(64, requires_grad=True)
    W3, b3 = he_init(64, 1), torch.zeros(1, requires_grad=True)
    weights, biases = [W1, W2, W3], [b1, b2, b3]

    def mlp(xb):
        h = torch.relu(xb @ W1 + b1)
        h = torch.relu(h @ W2 + b2)
        return (h @ W3 + b3).squeeze(-1)

    opt = torch.optim.NAdam([
        {"params": weights, "weight_decay": 1e-4},
        {"params": biases, "weight_decay": 0.0},
    ], lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=100, eta_min=1e-4)

    losses = []
    step = 0
    while step < STEPS:
        for xb, yb in loader:
            if step >= STEPS:
                break
            for p in weights + biases:
                p.grad = None
            loss = F.mse_loss(mlp(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            if step % 20 == 0 or step == STEPS - 1:
                print(f"step {step:4d}  mse {loss.item():.4f}  lr {sched.get_last_lr()[0]:.2e}")
            step += 1

    print(f"final_loss={sum(losses[-20:]) / 20}")


if __name__ == "__main__":
    main()
