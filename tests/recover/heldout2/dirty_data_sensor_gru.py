"""GRU heart-rate regressor on wrist-sensor windows -- loss turns nan at step 12 (epoch 0).

Model: a 1-layer GRU (hidden 48) over 3-axis accelerometer windows (64 samples
each) plus a linear head that regresses the (standardised) mean heart rate and
the energy expenditure rate (kcal/min) of each window.  Data come from an
exported CSV of recording sessions, parsed row by row into a map-style
Dataset, and fed through DataLoader(shuffle=True, batch_size=32).  AdamW with a
CosineAnnealingLR schedule over 8 epochs (8 x 20 = 160 optimizer steps), with a
validation pass on a separate clean session after every epoch.

What goes wrong: the CSV export has a few broken rows.  Two sessions contain
sensor dropouts that were written as "nan" in the accelerometer columns
(dataset indices 76 and 402), and two sessions have a recorded duration of 0
minutes, so the preprocessing `kcal / duration_min` produces inf in the target
(indices 291 and 589).  As soon as the shuffled loader puts one of these
windows into a batch (optimizer step 12, epoch 0: index 76, nan inputs), the MSE loss is
nan/inf, AdamW writes nan into every weight, and every later step and the
validation loss are nan.

--clean: the user drops the windows whose inputs or targets are not finite
(`np.isfinite(...)`) before building the Dataset; same seed, same model, same
remaining data.
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [76, 291, 402, 589], "nan_step": 12}

import argparse
import math

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

WIN = 64
N_SESSIONS = 640


def make_csv_export(n_sessions, seed, corrupt=True):
    """Simulates the text of the exported CSV: one line per session window.

    columns: session_id, duration_min, kcal, hr_mean, ax_0..ax_63, ay_0.., az_0..
    """
    rng = np.random.default_rng(seed)
    lines = []
    for sid in range(n_sessions):
        activity = rng.integers(0, 4)  # rest / walk / run / cycle
        freq = [0.2, 1.6, 2.6, 1.1][activity]
        amp = [0.05, 0.4, 1.1, 0.6][activity]
        t = np.arange(WIN) / 16.0
        phase = rng.uniform(0, 2 * math.pi, size=3)
        acc = np.stack([
            amp * np.sin(2 * math.pi * freq * t + phase[c]) + rng.normal(0, 0.08, WIN)
            for c in range(3)
        ]) * 9.81
        acc[2] += 9.81  # gravity on z
        hr = 62 + 35 * amp + 10 * freq + rng.normal(0, 3)
        duration = float(rng.integers(5, 60))
        kcal = duration * (1.2 + 4.5 * amp + rng.normal(0, 0.2))
        cells = [str(sid), f"{duration:.1f}", f"{kcal:.2f}", f"{hr:.1f}"]
        cells += [f"{v:.4f}" for v in acc.reshape(-1)]
        if corrupt and sid in (76, 402):
            # bluetooth dropout -> exporter wrote nan for a stretch of samples
            for j in range(4 + 20, 4 + 31):
                cells[j] = "nan"
        if corrupt and sid in (291, 589):
            # session stopped immediately, exporter still wrote a window
            cells[1] = "0.0"
        lines.append(",".join(cells))
    return lines


def parse_csv(lines):
    X, y = [], []
    durations, kcals, hrs = [], [], []
    for line in lines:
        cells = line.split(",")
        durations.append(float(cells[1]))
        kcals.append(float(cells[2]))
        hrs.append(float(cells[3]))
        X.append(np.array([float(c) for c in cells[4:]], dtype=np.float32).reshape(3, WIN))
    X = np.stack(X) / 9.81  # in g
    durations = np.array(durations, dtype=np.float32)
    kcals = np.array(kcals, dtype=np.float32)
    hrs = np.array(hrs, dtype=np.float32)
    kcal_per_min = kcals / durations
    y = np.stack([(hrs - 90.0) / 20.0, (kcal_per_min - 3.5) / 2.0], axis=1)
    return X.astype(np.float32), y.astype(np.float32)


class SensorWindows(Dataset):
    def __init__(self, X, y):
        self.X = torch.from_numpy(X).transpose(1, 2).contiguous()  # (N, T, C)
        self.y = torch.from_numpy(y)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, idx):
        return self.X[idx], self.y[idx]


class HRRegressor(nn.Module):
    def __init__(self, hidden=48):
        super().__init__()
        self.gru = nn.GRU(3, hidden, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden, 32), nn.ReLU(), nn.Linear(32, 2))

    def forward(self, x):
        out, h = self.gru(x)
        return self.head(h[-1])


def main():
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()

    torch.manual_seed(0)
    X, y = parse_csv(make_csv_export(N_SESSIONS, seed=123))
    if args.clean:
        keep = np.isfinite(X).all(axis=(1, 2)) & np.isfinite(y).all(axis=1)
        print(f"dropping {int((~keep).sum())} non-finite windows: {np.flatnonzero(~keep).tolist()}")
        X, y = X[keep], y[keep]
    Xv, yv = parse_csv(make_csv_export(128, seed=999, corrupt=False))

    train_ds = SensorWindows(X, y)
    val_ds = SensorWindows(Xv, yv)
    g = torch.Generator()
    g.manual_seed(0)
    train_loader = DataLoader(train_ds, batch_size=32, shuffle=True, generator=g)
    val_loader = DataLoader(val_ds, batch_size=64)

    model = HRRegressor()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    total_steps = args.epochs * len(train_loader)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    criterion = nn.MSELoss()

    losses = []
    step = 0
    for epoch in range(args.epochs):
        model.train()
        for xb, yb in train_loader:
            pred = model(xb)
            loss = criterion(pred, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            if step % 10 == 0:
                print(f"epoch {epoch} step {step:4d} loss {loss.item():.4f} lr {scheduler.get_last_lr()[0]:.2e}")
            step += 1

        model.eval()
        val_loss, n = 0.0, 0
        with torch.no_grad():
            for xb, yb in val_loader:
                val_loss += criterion(model(xb), yb).item() * len(xb)
                n += len(xb)
        print(f"epoch {epoch} val_loss {val_loss / n:.4f}")

    print(f"final_loss={sum(losses[-10:]) / len(losses[-10:])}")


if __name__ == "__main__":
    main()
