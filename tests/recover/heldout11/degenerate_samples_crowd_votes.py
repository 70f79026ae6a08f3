"""Label-distribution learning from crowd-sourced annotator votes.

Model: a 3-layer MLP (24 -> 96 -> 96 -> 6) that maps an item's feature vector to a
distribution over 6 content categories, trained with Adam (lr 1e-3, batch 32,
300 optimizer steps).

Data: 2400 synthetic "items" (think: short video clips shown to crowd workers).
Each item has a 24-dim feature vector and a vector of raw vote counts over the
6 categories, collected from 3-9 annotators.  The training target is the
empirical vote distribution, obtained in the training step by normalising the
counts (votes / votes.sum()), and the loss is the soft cross-entropy between
that distribution and the model's log-softmax.

What goes wrong: three items (dataset indices 311, 1187 and 2045) were shown to
annotators who all pressed "skip", so their vote vector is all zeros.  They
look like ordinary items (normal features, integer counts), but normalising
their votes is 0/0 = NaN.  The first time one of them lands in a shuffled batch
the loss is NaN, the NaN gradient goes through Adam into every weight, and
from then on every loss is NaN: the run is ruined.  Without --clean this
happens at step 23 (steps counted from 0) after normal training before it.

--clean: filters exactly those three zero-vote items out of the dataset
(everything else - model, seed, optimizer, step count - unchanged), and the
run trains normally.
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [311, 1187, 2045], "nan_step": 23}

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

N_ITEMS = 2400
N_FEAT = 24
N_CLASSES = 6
BAD_ITEMS = (311, 1187, 2045)  # every annotator skipped these items


class CrowdVoteDataset(Dataset):
    def __init__(self, drop_unvoted=False, seed=0):
        g = torch.Generator().manual_seed(seed)
        feats = torch.randn(N_ITEMS, N_FEAT, generator=g)
        w_true = torch.randn(N_FEAT, N_CLASSES, generator=g) * 0.6
        probs = torch.softmax(feats @ w_true, dim=1)
        n_annot = torch.randint(3, 10, (N_ITEMS,), generator=g)
        votes = torch.zeros(N_ITEMS, N_CLASSES)
        for i in range(N_ITEMS):
            picks = torch.multinomial(probs[i], int(n_annot[i]), replacement=True, generator=g)
            votes[i] = torch.bincount(picks, minlength=N_CLASSES).float()
        for i in BAD_ITEMS:
            votes[i] = 0.0  # all annotators skipped the item
        self.feats = feats
        self.votes = votes
        self.indices = list(range(N_ITEMS))
        if drop_unvoted:
            bad = set(BAD_ITEMS)
            self.indices = [i for i in self.indices if i not in bad]

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, k):
        i = self.indices[k]
        return self.feats[i], self.votes[i]


class LabelDistNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(N_FEAT, 96), nn.GELU(),
            nn.Linear(96, 96), nn.GELU(),
            nn.Linear(96, N_CLASSES),
        )

    def forward(self, x):
        return self.net(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true",
                        help="drop the items with zero votes from the dataset")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    ds = CrowdVoteDataset(drop_unvoted=args.clean)
    loader = DataLoader(ds, batch_size=32, shuffle=True, num_workers=0)
    model = LabelDistNet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    losses = []
    step = 0
    while step < args.steps:
        for feats, votes in loader:
            if step >= args.steps:
                break
            target = votes / votes.sum(dim=1, keepdim=True)  # empirical vote distribution
            logp = F.log_softmax(model(feats), dim=1)
            loss = -(target * logp).sum(dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 20 == 0:
                print(f"step {step:4d}  loss {loss.item():.4f}")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
