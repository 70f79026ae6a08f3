"""Molecular property regression with a dense graph-convolution network.

Model: every sample is a 12-atom molecular graph (one-hot atom type + charge
features, dense 0/1 bond adjacency).  Three graph-conv layers of the form
``h' = relu(W_self h + W_nbr (D^-1/2 A D^-1/2) h)`` (symmetric-normalised
neighbour aggregation, self term kept in a separate weight so no self-loops
are added), sum readout over atoms, then an MLP head predicting a scalar
property.  MSE loss, Adam, 240 steps of batch 32 from a shuffled
``DataLoader`` over a map-style ``Dataset``.

What goes wrong: a few molecules are salts whose counter-ion (e.g. Na+ / Cl-)
is an atom with no bonds.  That atom's degree is 0, so ``deg.pow(-0.5)`` is
inf and the normalised adjacency row/column for it is ``inf * 0 = NaN``; the
NaN spreads through message passing into the graph prediction and the loss.
The first batch containing such a salt (step 3) has a NaN loss, the backward
pass writes NaN into all weights and training stays NaN afterwards.

``--clean``: the salt molecules (graphs with an isolated atom) are dropped
from the dataset before training; the model code, seeds and step count are
unchanged, and the loss converges.
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [157, 642, 903, 1311], "nan_step": 3}
import argparse

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

torch.set_num_threads(1)

N_MOLS = 1500
N_ATOMS = 12
N_TYPES = 5          # C, N, O, S, ion
BATCH = 32
TOTAL_STEPS = 240
SALT_MOLS = [157, 642, 903, 1311]


def random_connected_adjacency(n, g, extra_edges):
    """Random spanning tree plus a few extra bonds (rings)."""
    adj = torch.zeros(n, n)
    order = torch.randperm(n, generator=g)
    for k in range(1, n):
        parent = order[torch.randint(0, k, (1,), generator=g)].item()
        child = order[k].item()
        adj[parent, child] = adj[child, parent] = 1.0
    for _ in range(extra_edges):
        i, j = torch.randint(0, n, (2,), generator=g).tolist()
        if i != j:
            adj[i, j] = adj[j, i] = 1.0
    return adj


def make_molecules(n_mols, g):
    feats, adjs, ys = [], [], []
    type_w = torch.tensor([0.3, -0.5, 0.8, 1.1, -0.2])
    for m in range(n_mols):
        extra = int(torch.randint(0, 4, (1,), generator=g))
        adj = random_connected_adjacency(N_ATOMS, g, extra)
        types = torch.multinomial(torch.tensor([0.6, 0.15, 0.2, 0.05]), N_ATOMS,
                                  replacement=True, generator=g)
        charge = torch.zeros(N_ATOMS)
        if m in SALT_MOLS:
            # the last atom becomes a counter-ion: no bonds at all
            ion = N_ATOMS - 1
            adj[ion, :] = 0.0
            adj[:, ion] = 0.0
            types[ion] = 4
            charge[ion] = 1.0 if m % 2 else -1.0
            # re-attach any atom that was only bonded to the ion
            for a in range(N_ATOMS - 1):
                if adj[a].sum() == 0:
                    b = (a + 1) % (N_ATOMS - 1)
                    adj[a, b] = adj[b, a] = 1.0
        x = torch.cat([nn.functional.one_hot(types, N_TYPES).float(), charge.unsqueeze(1)], dim=1)
        deg = adj.sum(1)
        atom_score = type_w[types]
        # property: per-atom contribution + bond contribution + ring count effect
        bond_term = (atom_score.unsqueeze(0) * adj * atom_score.unsqueeze(1)).sum() / 2
        rings = adj.sum() / 2 - (N_ATOMS - 1)
        y = atom_score.sum() * 0.5 + 0.3 * bond_term + 0.4 * rings + 0.1 * (deg ** 2).sum() / N_ATOMS
        feats.append(x)
        adjs.append(adj)
        ys.append(y)
    return torch.stack(feats), torch.stack(adjs), torch.stack(ys)


class MoleculeDataset(Dataset):
    def __init__(self, x, adj, y):
        self.x, self.adj, self.y = x, adj, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, idx):
        return self.x[idx], self.adj[idx], self.y[idx]


class GraphConv(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.lin_self = nn.Linear(d_in, d_out)
        self.lin_nbr = nn.Linear(d_in, d_out, bias=False)

    def forward(self, h, adj):
        deg = adj.sum(-1)                                    # (B, N)
        d_inv_sqrt = deg.pow(-0.5)
        a_norm = d_inv_sqrt.unsqueeze(-1) * adj * d_inv_sqrt.unsqueeze(-2)
        return torch.relu(self.lin_self(h) + self.lin_nbr(a_norm @ h))


class GCNRegressor(nn.Module):
    def __init__(self, d_in, hidden=64):
        super().__init__()
        self.convs = nn.ModuleList([GraphConv(d_in, hidden), GraphConv(hidden, hidden),
                                    GraphConv(hidden, hidden)])
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x, adj):
        h = x
        for conv in self.convs:
            h = conv(h, adj)
        return self.head(h.sum(dim=1) / N_ATOMS).squeeze(-1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true")
    args = parser.parse_args()

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(31337)
    x, adj, y = make_molecules(N_MOLS, g)
    y = (y - y.mean()) / y.std()

    if args.clean:
        keep = (adj.sum(-1) > 0).all(dim=1)
        print(f"dropping {int((~keep).sum())} molecules with an unbonded atom")
        x, adj, y = x[keep], adj[keep], y[keep]

    ds = MoleculeDataset(x, adj, y)
    loader = DataLoader(ds, batch_size=BATCH, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(5))

    model = GCNRegressor(x.shape[-1])
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.MSELoss()

    losses = []
    step = 0
    while step < TOTAL_STEPS:
        for xb, ab, yb in loader:
            if step >= TOTAL_STEPS:
                break
            pred = model(xb, ab)
            loss = loss_fn(pred, yb)
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
