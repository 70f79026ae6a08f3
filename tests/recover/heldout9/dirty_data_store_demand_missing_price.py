"""Retail demand forecasting with store/item embeddings and a few numeric columns.

Model: each row of a (synthetic) sales export is (store id, item id, shelf
price, discount, day-of-week, holiday flag) -> log(units sold).  Store and item
ids go through ``nn.Embedding`` tables, are concatenated with the numeric
features and fed to a small MLP; loss is MSE on log-units, optimiser Adam,
260 steps of batch 64 from a shuffled ``DataLoader`` over a map-style
``Dataset``.

What goes wrong: the export was parsed from CSV and a handful of rows are
dirty.  Three rows had an empty / "N/A" shelf price that became NaN, one row
has a discount of ``inf`` (a "100%" promo divided by zero upstream), and one
row has ``units_sold = inf`` (overflowed counter), so its log target is inf.
The first batch that contains one of these rows (step 4) gives a NaN/inf
loss, the Adam update turns every parameter NaN, and the loss is NaN for the
rest of training.

``--clean``: rows with any non-finite feature or target are dropped from the
dataset before building the ``DataLoader``; model, optimiser, seeds and step
count are identical, and the loss converges.
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [311, 1047, 1602, 2290, 2718], "nan_step": 4}
import argparse

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

torch.set_num_threads(1)

N_ROWS = 3000
N_STORES = 25
N_ITEMS = 60
BATCH = 64
TOTAL_STEPS = 260

NAN_PRICE_ROWS = [311, 1602, 2718]
INF_DISCOUNT_ROWS = [1047]
INF_UNITS_ROWS = [2290]


def make_sales_export(n, g):
    store = torch.randint(0, N_STORES, (n,), generator=g)
    item = torch.randint(0, N_ITEMS, (n,), generator=g)
    store_size = torch.randn(N_STORES, generator=g) * 0.5
    item_pop = torch.randn(N_ITEMS, generator=g) * 0.7
    base_price = torch.exp(torch.randn(N_ITEMS, generator=g) * 0.6 + 1.5)
    price = base_price[item] * (1.0 + 0.1 * torch.randn(n, generator=g))
    discount = (torch.rand(n, generator=g) < 0.2).float() * torch.rand(n, generator=g) * 0.5
    dow = torch.randint(0, 7, (n,), generator=g)
    holiday = (torch.rand(n, generator=g) < 0.05).float()
    weekend = (dow >= 5).float()
    log_rate = (1.5 + store_size[store] + item_pop[item]
                - 0.8 * torch.log(price / base_price[item])
                + 1.2 * discount + 0.3 * weekend + 0.5 * holiday)
    units = torch.poisson(torch.exp(log_rate), generator=g) + 1.0

    # --- what the CSV parser actually produced ---
    price[NAN_PRICE_ROWS] = float("nan")        # "N/A" / empty cells
    discount[INF_DISCOUNT_ROWS] = float("inf")   # bad upstream division
    units[INF_UNITS_ROWS] = float("inf")         # overflowed counter

    numeric = torch.stack([
        torch.log(price),
        discount,
        torch.sin(2 * torch.pi * dow.float() / 7),
        torch.cos(2 * torch.pi * dow.float() / 7),
        holiday,
    ], dim=1)
    target = torch.log(units)
    return store, item, numeric, target


class SalesDataset(Dataset):
    def __init__(self, store, item, numeric, target):
        self.store, self.item, self.numeric, self.target = store, item, numeric, target

    def __len__(self):
        return len(self.target)

    def __getitem__(self, idx):
        return self.store[idx], self.item[idx], self.numeric[idx], self.target[idx]


class DemandModel(nn.Module):
    def __init__(self, n_numeric, d_emb=8, hidden=64):
        super().__init__()
        self.store_emb = nn.Embedding(N_STORES, d_emb)
        self.item_emb = nn.Embedding(N_ITEMS, d_emb)
        self.mlp = nn.Sequential(
            nn.Linear(2 * d_emb + n_numeric, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, store, item, numeric):
        h = torch.cat([self.store_emb(store), self.item_emb(item), numeric], dim=1)
        return self.mlp(h).squeeze(-1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true")
    args = parser.parse_args()

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(2024)
    store, item, numeric, target = make_sales_export(N_ROWS, g)

    if args.clean:
        keep = torch.isfinite(numeric).all(dim=1) & torch.isfinite(target)
        print(f"dropping {int((~keep).sum())} rows with non-finite values")
        store, item, numeric, target = store[keep], item[keep], numeric[keep], target[keep]

    ds = SalesDataset(store, item, numeric, target)
    loader = DataLoader(ds, batch_size=BATCH, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(99))

    model = DemandModel(numeric.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.MSELoss()

    losses = []
    step = 0
    while step < TOTAL_STEPS:
        for s, i, x, y in loader:
            if step >= TOTAL_STEPS:
                break
            pred = model(s, i, x)
            loss = loss_fn(pred, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 20 == 0:
                print(f"step {step:3d}  loss {loss.item():.4f}")
            step += 1

    final = sum(losses[-10:]) / 10
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
