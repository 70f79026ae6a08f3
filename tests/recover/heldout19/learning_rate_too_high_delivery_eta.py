"""Food-delivery ETA regression (tabular MLP with a city embedding) trained with SGD.

Model: nn.Embedding(6, 8) for the city, concatenated with 7 numeric order
features (log distance, items in the basket, restaurant prep-time
estimate, courier load, rain flag, hour-of-day sin/cos) and fed to
Linear(15, 64) -> SiLU -> Linear(64, 64) -> SiLU -> Linear(64, 1).  Trained
with MSE on the standardised delivery time; SGD with momentum 0.9 and a
peak learning rate of 1.0, warmed up per epoch with
LinearLR(start_factor=0.01, total_iters=4) (one scheduler step per epoch,
so the epoch learning rates are 0.01, 0.2575, 0.505, 0.7525, 1.0).  Batch 32,
300 training steps in an epoch loop (5 epochs x 60 steps).

Data: 2400 synthetic orders generated in-script.  Each item is a dict
{"order_id": str, "city": str, "features": float tensor (7,),
"eta_min": float tensor}; a custom collate_fn stacks the tensors, maps the
city names to ids through a vocabulary and keeps the order ids as a list.
__getitem__ perturbs the restaurant prep-time estimate and the courier load
with numpy noise (augmentation).  torch.utils.data.random_split (seed 3)
gives 1920 training and 480 validation orders; the training DataLoader
uses shuffle=True, drop_last=True, num_workers=2 with a worker_init_fn
that seeds numpy, and pin_memory=True.  Validation MSE is printed after
every epoch.

What goes wrong: the peak learning rate (1.0) is far beyond what
SGD+momentum can take on this loss.  Epoch 0 (lr 0.01) trains normally
(loss 0.86 -> ~0.3); at the first scheduler step the learning rate jumps
to 0.2575, which is already above the stability limit: from step 61 the
loss grows geometrically (0.93, 33, 111, 9e7) and at step 65 (counted
from 0) it is inf; from then on the loss and the parameters are NaN.

--clean: peak learning rate 0.05 instead of 1.0 (same warmup schedule,
so the epoch learning rates are 0.0005 ... 0.05); nothing else changes.
The run then trains to a mean loss of ~0.16 over the last 20 steps
(validation MSE ~0.14, from ~1.0 at the start).
"""
# recover-heldout: {"category": "learning_rate_too_high", "nan_step": 65}

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, random_split

CITIES = ["lisbon", "porto", "braga", "coimbra", "faro", "aveiro"]
CITY_ID = {c: i for i, c in enumerate(CITIES)}


def make_orders(n=2400, seed=11):
    rng = np.random.default_rng(seed)
    city_speed = np.array([1.0, 1.1, 0.9, 0.95, 1.2, 0.85])   # city congestion factor
    orders = []
    for i in range(n):
        c = int(rng.integers(0, len(CITIES)))
        dist = rng.lognormal(1.0, 0.5)                        # km
        items = int(rng.integers(1, 9))
        prep = rng.normal(12 + 1.5 * items, 3.0)              # minutes, restaurant estimate
        load = rng.poisson(2.0)                               # orders already on the courier
        rain = float(rng.random() < 0.2)
        hour = rng.uniform(11, 23)
        rush = np.exp(-((hour - 13) / 1.2) ** 2) + np.exp(-((hour - 20) / 1.5) ** 2)
        eta = (prep + 4.0 * dist * city_speed[c] * (1 + 0.3 * rain + 0.4 * rush)
               + 3.0 * load + rng.normal(0, 3.0))
        feats = np.array([np.log(dist), items / 4.0, (prep - 18) / 5.0, load / 2.0, rain,
                          np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24)], dtype=np.float32)
        orders.append({"order_id": f"ORD-{c}{i:05d}", "city": CITIES[c], "features": feats, "eta_min": eta})
    return orders


class OrderDataset(Dataset):
    def __init__(self, orders, eta_mean, eta_std):
        self.orders = orders
        self.eta_mean, self.eta_std = eta_mean, eta_std

    def __len__(self):
        return len(self.orders)

    def __getitem__(self, i):
        o = self.orders[i]
        x = o["features"].copy()
        x[2] += np.random.normal(0, 0.05)                     # jitter the prep-time estimate
        x[3] += np.random.normal(0, 0.05)                     # and the courier load
        return {
            "order_id": o["order_id"],
            "city": o["city"],
            "features": torch.from_numpy(x),
            "eta_min": torch.tensor((o["eta_min"] - self.eta_mean) / self.eta_std, dtype=torch.float32),
        }


def collate(items):
    return {
        "order_id": [it["order_id"] for it in items],
        "city": torch.tensor([CITY_ID[it["city"]] for it in items]),
        "features": torch.stack([it["features"] for it in items]),
        "eta_min": torch.stack([it["eta_min"] for it in items]),
    }


def seed_worker(worker_id):
    np.random.seed(torch.initial_seed() % 2**32)


class ETAModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.city = nn.Embedding(len(CITIES), 8)
        self.mlp = nn.Sequential(nn.Linear(7 + 8, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 1))

    def forward(self, city, features):
        return self.mlp(torch.cat([self.city(city), features], dim=1)).squeeze(1)


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    se, n = 0.0, 0
    for b in loader:
        se += ((model(b["city"], b["features"]) - b["eta_min"]) ** 2).sum().item()
        n += len(b["order_id"])
    model.train()
    return se / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="use a sensible peak learning rate")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)

    orders = make_orders()
    etas = np.array([o["eta_min"] for o in orders])
    ds = OrderDataset(orders, etas.mean(), etas.std())
    train_set, val_set = random_split(ds, [1920, 480], generator=torch.Generator().manual_seed(3))
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True, drop_last=True, collate_fn=collate,
                              num_workers=2, worker_init_fn=seed_worker, pin_memory=True,
                              generator=torch.Generator().manual_seed(5))
    val_loader = DataLoader(val_set, batch_size=240, collate_fn=collate)

    peak_lr = 0.05 if args.clean else 1.0
    model = ETAModel()
    opt = torch.optim.SGD(model.parameters(), lr=peak_lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.01, total_iters=4)

    losses = []
    step = 0
    for epoch in range(5):
        for batch in train_loader:
            if step >= args.steps:
                break
            pred = model(batch["city"], batch["features"])
            loss = F.mse_loss(pred, batch["eta_min"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 20 == 0:
                print(f"epoch {epoch} step {step:4d}  lr {opt.param_groups[0]['lr']:.4f}  loss {loss.item():.4f}")
            step += 1
        print(f"epoch {epoch} done  val mse {evaluate(model, val_loader):.4f}")
        sched.step()

    print(f"final_loss={sum(losses[-20:]) / 20}")


if __name__ == "__main__":
    main()
