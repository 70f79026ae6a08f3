"""Solar PV plant power-output regression with corrupted logger records.

Model: a 3-layer MLP (8 -> 64 -> 64 -> 1, SiLU) trained with Adam (lr 2e-3)
and MSE loss to predict the AC power output (kW, scaled by the inverter rating)
of a rooftop photovoltaic plant from one 15-minute weather/telemetry record.

Data: 4000 synthetic 15-minute records generated in-script: plane-of-array
irradiance, ambient temperature, module temperature, wind speed, relative
humidity, cloud cover, and sin/cos of the hour of day.  The target follows a
standard PVWatts-style model (irradiance * temperature derating * inverter
clipping) plus measurement noise.  Records are served through a
torch.utils.data.Dataset and a shuffling DataLoader (batch size 32).

What goes wrong: five records at fixed dataset indices were corrupted by the
data logger: sensor dropouts wrote NaN into irradiance / module temperature,
an overflowed counter wrote +inf into the power target, and a -inf sneaked
into the wind-speed channel.  There is no sanitisation, so the first time one
of these records lands in a shuffled mini-batch the forward pass produces a
NaN/inf loss, backward fills every gradient with NaN, and Adam writes NaN into
all weights.  From that step on every loss is NaN (the run never recovers).
Without --clean this first happens at step 27 (see the header line below).

--clean: filters exactly those five corrupted records out of the dataset
(a torch.utils.data.Subset over the remaining indices); everything else -
model, optimiser, seed, number of steps - is unchanged, and the model trains
to a small error.
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [517, 1288, 2043, 2906, 3671], "nan_step": 27}

import argparse
import math

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, Subset

BAD_INDICES = [517, 1288, 2043, 2906, 3671]


class PVRecords(Dataset):
    """15-minute telemetry records of a 50 kW rooftop PV plant (synthetic)."""

    RATED_KW = 50.0

    def __init__(self, n: int = 4000, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        hour = torch.rand(n, generator=g) * 14.0 + 5.0           # 05:00 - 19:00
        day_shape = torch.clamp(torch.sin(math.pi * (hour - 5.0) / 14.0), min=0.0)
        cloud = torch.rand(n, generator=g)                          # 0..1 cloud cover
        clear_sky = 1050.0 * day_shape
        irr = clear_sky * (1.0 - 0.75 * cloud ** 1.5) + 20.0 * torch.randn(n, generator=g)
        irr = irr.clamp(min=0.0)                                    # W/m^2
        t_amb = 12.0 + 14.0 * day_shape + 3.0 * torch.randn(n, generator=g)
        wind = (2.5 + 1.5 * torch.randn(n, generator=g)).abs()      # m/s
        humid = (70.0 - 30.0 * day_shape + 10.0 * torch.randn(n, generator=g)).clamp(5.0, 100.0)
        t_mod = t_amb + irr / 800.0 * (45.0 - 20.0) * torch.exp(-0.08 * wind)

        # PVWatts-like DC power with temperature derating, then inverter clipping.
        p_dc = 58.0 * (irr / 1000.0) * (1.0 - 0.0040 * (t_mod - 25.0))
        p_ac = torch.clamp(0.965 * p_dc, max=self.RATED_KW)
        p_ac = p_ac + 0.4 * torch.randn(n, generator=g)

        x = torch.stack(
            [
                irr / 1000.0,
                (t_amb - 20.0) / 10.0,
                (t_mod - 30.0) / 15.0,
                wind / 5.0,
                humid / 100.0,
                cloud,
                torch.sin(2 * math.pi * hour / 24.0),
                torch.cos(2 * math.pi * hour / 24.0),
            ],
            dim=1,
        )
        y = (p_ac / self.RATED_KW).unsqueeze(1)

        # Corrupted logger records (sensor dropouts / counter overflow).
        x[517, 0] = float("nan")        # irradiance sensor dropout
        x[1288, 2] = float("nan")       # module temperature probe dropout
        y[2043, 0] = float("inf")       # power counter overflow
        x[2906, 3] = float("-inf")      # anemometer glitch
        x[3671, 0] = float("nan")       # irradiance + target both lost
        y[3671, 0] = float("nan")

        self.x = x
        self.y = y

    def __len__(self):
        return self.x.shape[0]

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true",
                    help="filter out the corrupted records before training")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(1234)

    dataset = PVRecords(n=4000, seed=7)
    if args.clean:
        bad = set(BAD_INDICES)
        keep = [i for i in range(len(dataset)) if i not in bad]
        dataset = Subset(dataset, keep)
        print(f"--clean: removed {len(bad)} corrupted records, {len(dataset)} left")

    loader = DataLoader(dataset, batch_size=32, shuffle=True, num_workers=0, drop_last=True)

    model = nn.Sequential(
        nn.Linear(8, 64), nn.SiLU(),
        nn.Linear(64, 64), nn.SiLU(),
        nn.Linear(64, 1),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.MSELoss()

    losses = []
    step = 0
    epoch = 0
    while step < args.steps:
        epoch += 1
        for xb, yb in loader:
            if step >= args.steps:
                break
            pred = model(xb)
            loss = loss_fn(pred, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if step % 20 == 0 or step == args.steps - 1:
                print(f"epoch {epoch} step {step:4d} loss {loss.item():.6f}")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
