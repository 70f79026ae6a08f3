"""Explicit-feedback matrix factorisation (movie ratings): loss climbs, then inf at step 86.

Model: classic biased MF, rating ~ mu + b_user + b_item + <p_user, q_item>,
with 16-dim user/item embeddings (init N(0, 0.1)) for 600 users x 400 items
and 24k ratings on a 1..5 scale.  MSE loss (``nn.MSELoss``, mean over the
batch of 256), plain SGD with two parameter groups: the embedding tables get
a big learning rate (their per-row gradients are tiny because each user only
shows up in ~0.4 ratings per batch) and the biases / global mean get 0.1.
ExponentialLR(gamma=0.9) per epoch, 3 epochs = 282 steps.

What goes wrong: the embedding lr of 40 is too high.  At the start the
embeddings are small, so the curvature of the loss in the embedding
direction is small and lr=40 is still stable: the loss drops from 1.37 to
~1.0-1.1 within a few steps and stays there for ~40 steps.  The curvature
grows with the embedding norm, though (d^2 loss / dp^2 ~ |q|^2), and as the
factors grow the step becomes unstable: from step ~50 the loss climbs
(1.3, 1.5, 2, 3, 5 at step 79), then 1e2, 1e5, 1e9, 1e24 and at step 86
the loss is inf (then nan, the weights are nan/inf for the rest of the run).
``final_loss`` prints nan.

Fix (--clean): embedding learning rate 10 instead of 40; nothing else is
changed (biases keep 0.1, same schedule, same data).  The loss then goes
from ~1.37 to ~0.6 without diverging.
"""
# recover-heldout: {"category": "learning_rate_too_high", "bad_samples": [], "nan_step": 86}

import argparse

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

N_USERS, N_ITEMS, N_RATINGS = 600, 400, 24000


def make_ratings():
    g = torch.Generator().manual_seed(7)
    U = torch.randn(N_USERS, 6, generator=g) * 0.6
    V = torch.randn(N_ITEMS, 6, generator=g) * 0.6
    bu = torch.randn(N_USERS, generator=g) * 0.4
    bi = torch.randn(N_ITEMS, generator=g) * 0.4
    users = torch.randint(0, N_USERS, (N_RATINGS,), generator=g)
    items = torch.randint(0, N_ITEMS, (N_RATINGS,), generator=g)
    raw = 3.5 + bu[users] + bi[items] + (U[users] * V[items]).sum(1)
    ratings = (raw + 0.4 * torch.randn(N_RATINGS, generator=g)).round().clamp(1, 5)
    return users, items, ratings


class BiasedMF(nn.Module):
    def __init__(self, n_users, n_items, k=16):
        super().__init__()
        self.user_emb = nn.Embedding(n_users, k)
        self.item_emb = nn.Embedding(n_items, k)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        self.mu = nn.Parameter(torch.tensor(3.0))
        nn.init.normal_(self.user_emb.weight, 0.0, 0.1)
        nn.init.normal_(self.item_emb.weight, 0.0, 0.1)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)

    def forward(self, u, i):
        dot = (self.user_emb(u) * self.item_emb(i)).sum(dim=1)
        return dot + self.user_bias(u).squeeze(1) + self.item_bias(i).squeeze(1) + self.mu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    emb_lr = 10.0 if args.clean else 40.0
    bias_lr = 0.1

    users, items, ratings = make_ratings()
    model = BiasedMF(N_USERS, N_ITEMS)
    loader = DataLoader(
        TensorDataset(users, items, ratings),
        batch_size=256,
        shuffle=True,
        generator=torch.Generator().manual_seed(3),
    )
    optimizer = torch.optim.SGD(
        [
            {"params": [model.user_emb.weight, model.item_emb.weight], "lr": emb_lr},
            {"params": [model.user_bias.weight, model.item_bias.weight, model.mu], "lr": bias_lr},
        ]
    )
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    criterion = nn.MSELoss()

    history = []
    step = 0
    for epoch in range(args.epochs):
        for u, i, r in loader:
            optimizer.zero_grad()
            loss = criterion(model(u, i), r)
            loss.backward()
            optimizer.step()
            history.append(loss.item())
            if step % 15 == 0:
                print(f"[epoch {epoch}] step {step:3d}  mse {loss.item():.4f}  rmse {loss.item() ** 0.5:.4f}")
            step += 1
        scheduler.step()
        print(f"epoch {epoch} finished, lr now {scheduler.get_last_lr()}")

    print(f"final_loss={sum(history[-10:]) / 10}")


if __name__ == "__main__":
    main()
