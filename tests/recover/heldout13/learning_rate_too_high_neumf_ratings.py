"""Movie-rating prediction with a small NeuMF (neural matrix factorisation) model.

Model: NeuMF-style recommender.  A GMF branch multiplies a 16-dim user and a
16-dim item embedding elementwise; an MLP branch reads a second pair of
16-dim embeddings (concatenated, 32 -> 64 -> 32 with ReLU).  Both branches are
concatenated and a linear layer outputs the predicted rating, plus a learned
global offset.  Trained on MSE with two optimizers that are both stepped
every step: plain SGD + momentum 0.9 with weight decay 1e-4 for the four
embedding tables (the usual "sparse part"), and AdamW (lr 2e-3, weight decay
0.01) for the dense MLP/output layers.  Both share a LinearLR warmup
(start factor 0.05 over the first 60 steps).  Batch 256, 300 optimizer steps.
Mini-batches are sliced by hand from the rating tensors with torch.randperm
each epoch (no DataLoader).

Data: 700 synthetic users, 450 items, 24,000 observed ratings generated from
rank-6 latent tastes plus user/item biases, rounded and clipped to 1..5 stars.

What goes wrong: the embedding SGD learning rate (peak 40.0) is far too high.
The mean-reduced MSE gives each embedding row a tiny gradient, so the author
cranked the rate up, but the GMF branch is a product of two trained
embeddings, so the effective curvature grows with the embedding norms.
Through the warmup and for a while after it the loss looks normal (around
0.9), then around step 165 it starts creeping up, the embeddings oscillate
with growing amplitude, the loss goes 5 -> 1e4 -> 1e11 -> 1e22 and the first
non-finite loss (inf) appears at step 189 (counted from 0); from step 190 on
the weights and every loss are NaN until the end of the run.

--clean: uses an embedding peak learning rate of 4.0 (lr / 10), with the same
warmup, AdamW settings and everything else unchanged; the run then trains
to a sensible rating MSE (about 0.76, against a rating variance of 1.13).
"""
# recover-heldout: {"category": "learning_rate_too_high", "bad_samples": [], "nan_step": 189}

import argparse

import torch
import torch.nn as nn

N_USERS = 700
N_ITEMS = 450
N_RATINGS = 24000
DIM = 16


def make_ratings(seed=0):
    g = torch.Generator().manual_seed(seed)
    u_lat = torch.randn(N_USERS, 6, generator=g) * 0.6
    i_lat = torch.randn(N_ITEMS, 6, generator=g) * 0.6
    u_bias = torch.randn(N_USERS, generator=g) * 0.4
    i_bias = torch.randn(N_ITEMS, generator=g) * 0.5
    users = torch.randint(0, N_USERS, (N_RATINGS,), generator=g)
    items = torch.randint(0, N_ITEMS, (N_RATINGS,), generator=g)
    score = 3.4 + u_bias[users] + i_bias[items] + (u_lat[users] * i_lat[items]).sum(1)
    score = score + 0.3 * torch.randn(N_RATINGS, generator=g)
    ratings = score.round().clamp(1.0, 5.0)
    return users, items, ratings


class NeuMF(nn.Module):
    def __init__(self, dim=DIM):
        super().__init__()
        self.gmf_user = nn.Embedding(N_USERS, dim)
        self.gmf_item = nn.Embedding(N_ITEMS, dim)
        self.mlp_user = nn.Embedding(N_USERS, dim)
        self.mlp_item = nn.Embedding(N_ITEMS, dim)
        for emb in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
            nn.init.normal_(emb.weight, std=0.1)
        self.mlp = nn.Sequential(
            nn.Linear(2 * dim, 64), nn.ReLU(),
            nn.Linear(64, 32), nn.ReLU(),
        )
        self.out = nn.Linear(dim + 32, 1)
        self.offset = nn.Parameter(torch.tensor(3.4))

    def embedding_parameters(self):
        return [self.gmf_user.weight, self.gmf_item.weight,
                self.mlp_user.weight, self.mlp_item.weight]

    def dense_parameters(self):
        return list(self.mlp.parameters()) + list(self.out.parameters()) + [self.offset]

    def forward(self, users, items):
        gmf = self.gmf_user(users) * self.gmf_item(items)
        mlp = self.mlp(torch.cat([self.mlp_user(users), self.mlp_item(items)], dim=1))
        return self.out(torch.cat([gmf, mlp], dim=1)).squeeze(1) + self.offset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true",
                        help="use embedding peak lr / 10")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    users, items, ratings = make_ratings()
    model = NeuMF()

    emb_lr = 40.0
    if args.clean:
        emb_lr = emb_lr / 10
    opt_emb = torch.optim.SGD(model.embedding_parameters(), lr=emb_lr,
                              momentum=0.9, weight_decay=1e-4)
    opt_dense = torch.optim.AdamW(model.dense_parameters(), lr=2e-3, weight_decay=0.01)
    warm_emb = torch.optim.lr_scheduler.LinearLR(opt_emb, start_factor=0.05, total_iters=60)
    warm_dense = torch.optim.lr_scheduler.LinearLR(opt_dense, start_factor=0.05, total_iters=60)

    batch = 256
    losses = []
    step = 0
    while step < args.steps:
        perm = torch.randperm(N_RATINGS)
        for start in range(0, N_RATINGS - batch + 1, batch):
            if step >= args.steps:
                break
            idx = perm[start:start + batch]
            pred = model(users[idx], items[idx])
            loss = ((pred - ratings[idx]) ** 2).mean()
            opt_emb.zero_grad()
            opt_dense.zero_grad()
            loss.backward()
            opt_emb.step()
            opt_dense.step()
            warm_emb.step()
            warm_dense.step()
            losses.append(loss.item())
            if step % 20 == 0:
                print(f"step {step:4d}  emb_lr {opt_emb.param_groups[0]['lr']:.3f}  loss {loss.item():.4f}")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
