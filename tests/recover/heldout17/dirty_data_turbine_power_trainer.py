"""Wind-turbine power-curve regression with an HF-style model and a Trainer class.

Model: ``TurbinePowerModel``, a Hugging-Face style module whose
``forward(**batch)`` takes ``features`` (and optionally ``labels``) and
returns a dict with ``"preds"`` and, when labels are given, ``"loss"``
(mean squared error against the per-unit power output).  The body is a
14 -> 128 -> 128 -> 1 MLP with GELU activations and dropout 0.1.  A small
``Trainer`` class owns the optimizer (AdamW, lr 2e-3, weight decay 1e-4) and
exposes ``train_step`` / ``evaluate`` / ``fit``; ``fit`` runs epochs over a
shuffled DataLoader (batch 64, drop_last=False, so every epoch ends with a
short batch of 16) for a fixed 300 optimizer steps and calls ``evaluate``
every 25 steps (model.eval() + torch.no_grad(), then back to model.train()).
Progress goes through the ``logging`` module.

Data: a map-style ``ScadaDataset`` of 10-minute SCADA records generated
in-script: 2000 training records and 400 validation records, each with 14
sensor channels (hub-height wind speed, direction sin/cos, air density,
ambient/nacelle/gearbox/generator temperatures, rotor rpm, pitch angle, yaw
error, turbulence intensity, ...) and a target power output from a
logistic power curve with yaw/density/turbulence effects and noise.
Two training records are corrupt, as SCADA exports often are: record 1291
has a NaN wind speed (anemometer dropout written as an empty cell) and
record 1563 has an +inf power target (meter counter overflow).  The
validation records are clean.

What goes wrong: training is normal (loss falls from ~0.24 to ~0.02) until
the first batch that contains one of the two corrupt records.  With the
seeded shuffle that is step 21 (counted from 0; the 22nd batch of epoch 0,
holding record 1291): its NaN propagates to the predictions and the loss,
the backward pass fills every gradient with NaN, AdamW writes NaN into all
weights, and from then on every training loss and validation loss is NaN.
The run keeps going to the full 300 steps.

--clean: when building the training set, drops the records whose features or
target are not finite (``torch.isfinite``), i.e. the two records above;
nothing else changes.  The run then trains to a mean training loss of about
0.002 over the last 20 steps (validation MSE ~0.001).
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [1291, 1563], "nan_step": 21}

import argparse
import logging
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

logger = logging.getLogger("turbine")

FEATURES = [
    "wind_speed", "wind_dir_sin", "wind_dir_cos", "air_density", "ambient_temp",
    "nacelle_temp", "gearbox_temp", "generator_temp", "rotor_rpm", "pitch_deg",
    "yaw_error", "turbulence", "hour_sin", "hour_cos",
]


def simulate_scada(n, seed):
    """Synthetic 10-minute SCADA records for a 2 MW turbine."""
    g = torch.Generator().manual_seed(seed)
    ws = (torch.randn(n, generator=g) * 2.5 + 8.0).clamp(0.5, 24.0)
    wdir = torch.rand(n, generator=g) * 2 * math.pi
    rho = 1.225 + 0.04 * torch.randn(n, generator=g)
    amb = 12 + 8 * torch.randn(n, generator=g)
    hour = torch.randint(0, 24, (n,), generator=g).float()
    turb = (0.12 + 0.05 * torch.randn(n, generator=g)).clamp(0.02, 0.4)
    yaw = 4 * torch.randn(n, generator=g)
    # power curve: cut-in 3 m/s, rated 12 m/s, cut-out 25 m/s
    curve = torch.sigmoid((ws - 8.5) / 1.4)
    power = curve * (rho / 1.225) * torch.cos(torch.deg2rad(yaw)) ** 3 * (1 - 0.6 * (turb - 0.12))
    power = (power + 0.02 * torch.randn(n, generator=g)).clamp(0.0, 1.05)
    rpm = 6 + 10 * curve + 0.3 * torch.randn(n, generator=g)
    pitch = torch.relu(ws - 12.0) * 2.2 + 0.5 * torch.randn(n, generator=g)
    nacelle = amb + 10 * power + torch.randn(n, generator=g)
    gearbox = amb + 35 * power + 2 * torch.randn(n, generator=g)
    generator_t = amb + 45 * power + 2 * torch.randn(n, generator=g)
    x = torch.stack([
        ws, torch.sin(wdir), torch.cos(wdir), rho, amb, nacelle, gearbox, generator_t,
        rpm, pitch, yaw, turb, torch.sin(hour / 24 * 2 * math.pi), torch.cos(hour / 24 * 2 * math.pi),
    ], dim=1)
    return x, power


class ScadaDataset(Dataset):
    def __init__(self, features, power, mean, std):
        self.x = (features - mean) / std
        self.y = power

    def __len__(self):
        return len(self.y)

    def __getitem__(self, idx):
        return {"features": self.x[idx], "labels": self.y[idx]}


class TurbinePowerModel(nn.Module):
    def __init__(self, n_features=len(FEATURES), hidden=128, dropout=0.1):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_features, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.GELU(), nn.Dropout(dropout),
        )
        self.head = nn.Linear(hidden, 1)

    def forward(self, features, labels=None):
        preds = self.head(self.body(features)).squeeze(-1)
        out = {"preds": preds}
        if labels is not None:
            out["loss"] = F.mse_loss(preds, labels)
        return out


class Trainer:
    def __init__(self, model, train_loader, val_loader, lr=2e-3, max_steps=300, eval_every=25):
        self.model = model
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
        self.max_steps = max_steps
        self.eval_every = eval_every
        self.global_step = 0
        self.train_losses = []

    def train_step(self, batch):
        self.optimizer.zero_grad()
        outputs = self.model(**batch)
        loss = outputs["loss"]
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def evaluate(self):
        self.model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for batch in self.val_loader:
                out = self.model(**batch)
                n = batch["labels"].shape[0]
                total += out["loss"].item() * n
                count += n
        self.model.train()
        return total / count

    def fit(self):
        self.model.train()
        epoch = 0
        while self.global_step < self.max_steps:
            for batch in self.train_loader:
                if self.global_step >= self.max_steps:
                    break
                loss = self.train_step(batch)
                self.train_losses.append(loss)
                if self.global_step % 20 == 0:
                    logger.info("epoch %d step %d  train_loss %.4f", epoch, self.global_step, loss)
                if (self.global_step + 1) % self.eval_every == 0:
                    logger.info("step %d  val_loss %.4f", self.global_step, self.evaluate())
                self.global_step += 1
            epoch += 1
        return self.train_losses


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true",
                    help="drop training records with non-finite features or targets")
    args = ap.parse_args()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    torch.set_num_threads(1)
    torch.manual_seed(0)

    x_train, y_train = simulate_scada(2000, seed=11)
    x_val, y_val = simulate_scada(400, seed=12)
    # corrupt rows as they come out of the SCADA export
    x_train[1291, FEATURES.index("wind_speed")] = float("nan")
    y_train[1563] = float("inf")

    if args.clean:
        keep = torch.isfinite(x_train).all(dim=1) & torch.isfinite(y_train)
        logger.info("dropping %d corrupt training records", int((~keep).sum()))
        x_train, y_train = x_train[keep], y_train[keep]

    # feature scaling statistics over the complete training rows
    finite = torch.isfinite(x_train).all(dim=1)
    mean = x_train[finite].mean(0)
    std = x_train[finite].std(0)

    train_ds = ScadaDataset(x_train, y_train, mean, std)
    val_ds = ScadaDataset(x_val, y_val, mean, std)
    train_loader = DataLoader(train_ds, batch_size=64, shuffle=True, drop_last=False,
                              generator=torch.Generator().manual_seed(1))
    val_loader = DataLoader(val_ds, batch_size=200, shuffle=False)

    model = TurbinePowerModel()
    trainer = Trainer(model, train_loader, val_loader)
    losses = trainer.fit()

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
