"""House-price regression: loss goes to inf and then nan in the first epoch.

Model: small MLP on six numeric listing features (log sqft, bedrooms,
bathrooms, age, log lot size, distance to the centre) plus an 8-dim
embedding of the neighbourhood id, predicting the (median-centred) log of
the sale price.  Trained with SGD + momentum and a StepLR schedule through a
map-style ``Dataset`` and a ``DataLoader(num_workers=2, shuffle=True)``.

What goes wrong: the "listings export" has a few bad rows.  Listings 412,
1577 and 2804 have a sale price of 0 ("price not disclosed" stored as 0), so
``np.log(price)`` gives -inf for their target, and listing 2231 has a
missing square footage that was parsed as NaN, so its log-sqft feature is
NaN.  The feature standardisation uses nanmean/nanstd so the rest of the
table looks fine.  The first shuffled batch that contains one of these rows
(optimizer step 18) gives loss=inf, the backward pass writes inf/nan into
the gradients, SGD copies them into the weights and every later loss is nan.
``final_loss`` prints nan.

Fix (--clean): drop the non-finite rows (``np.isfinite`` on features and
target) before building the Dataset; everything else is unchanged.
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [412, 1577, 2231, 2804], "nan_step": 18}

import argparse

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset


N_LISTINGS = 3000
N_HOODS = 20


def make_listings(seed=1234):
    """Synthetic stand-in for the CSV export of the listings table."""
    rng = np.random.default_rng(seed)
    hood = rng.integers(0, N_HOODS, size=N_LISTINGS)
    hood_premium = rng.normal(0.0, 0.25, size=N_HOODS)
    sqft = rng.lognormal(mean=7.3, sigma=0.35, size=N_LISTINGS)
    bedrooms = np.clip(np.round(sqft / 550 + rng.normal(0, 0.7, N_LISTINGS)), 1, 7)
    bathrooms = np.clip(np.round(bedrooms * 0.6 + rng.normal(0, 0.5, N_LISTINGS)), 1, 5)
    age = rng.uniform(0, 90, size=N_LISTINGS)
    lot = rng.lognormal(mean=8.5, sigma=0.6, size=N_LISTINGS)
    dist = rng.gamma(2.0, 4.0, size=N_LISTINGS)
    log_price = (
        11.0
        + 0.85 * (np.log(sqft) - 7.3)
        + 0.04 * bathrooms
        - 0.003 * age
        + 0.10 * (np.log(lot) - 8.5)
        - 0.025 * dist
        + hood_premium[hood]
        + rng.normal(0, 0.12, size=N_LISTINGS)
    )
    price = np.round(np.exp(log_price), -2)

    # --- what the real export looks like ---------------------------------
    price[[412, 1577, 2804]] = 0.0  # "price not disclosed" stored as 0
    sqft[2231] = np.nan  # empty cell in the sqft column
    return hood, sqft, bedrooms, bathrooms, age, lot, dist, price


def build_table(clean):
    hood, sqft, bedrooms, bathrooms, age, lot, dist, price = make_listings()
    with np.errstate(divide="ignore"):
        feats = np.stack(
            [np.log(sqft), bedrooms, bathrooms, age, np.log(lot), dist], axis=1
        )
        target = np.log(price)
    if clean:
        keep = np.isfinite(feats).all(axis=1) & np.isfinite(target)
        print(f"dropping {int((~keep).sum())} rows with missing/zero values")
        feats, target, hood = feats[keep], target[keep], hood[keep]
    # standardise features (nan-aware, like pandas' skipna)
    mu = np.nanmean(feats, axis=0)
    sd = np.nanstd(feats, axis=0)
    feats = (feats - mu) / sd
    target = target - np.median(target)
    return feats.astype(np.float32), hood.astype(np.int64), target.astype(np.float32)


class ListingsDataset(Dataset):
    def __init__(self, feats, hood, target):
        self.feats = torch.from_numpy(feats)
        self.hood = torch.from_numpy(hood)
        self.target = torch.from_numpy(target)

    def __len__(self):
        return len(self.target)

    def __getitem__(self, idx):
        return self.feats[idx], self.hood[idx], self.target[idx]


class PriceNet(nn.Module):
    def __init__(self, n_num=6, n_hoods=N_HOODS, emb=8, hidden=64):
        super().__init__()
        self.hood_emb = nn.Embedding(n_hoods, emb)
        self.mlp = nn.Sequential(
            nn.Linear(n_num + emb, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, x_num, hood):
        h = torch.cat([x_num, self.hood_emb(hood)], dim=1)
        return self.mlp(h).squeeze(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true")
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    feats, hood, target = build_table(args.clean)
    ds = ListingsDataset(feats, hood, target)
    loader = DataLoader(
        ds,
        batch_size=64,
        shuffle=True,
        num_workers=2,
        drop_last=True,
        generator=torch.Generator().manual_seed(1234),
    )

    model = PriceNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    criterion = nn.MSELoss()

    losses = []
    step = 0
    for epoch in range(args.epochs):
        model.train()
        for x_num, hood_b, y in loader:
            pred = model(x_num, hood_b)
            loss = criterion(pred, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 20 == 0:
                print(f"epoch {epoch} step {step:4d} loss {loss.item():.5f} lr {sched.get_last_lr()[0]:.4g}")
            step += 1
        sched.step()
        print(f"epoch {epoch} done, mean loss {np.mean(losses[-len(loader):]):.5f}")

    final = sum(losses[-10:]) / 10
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
