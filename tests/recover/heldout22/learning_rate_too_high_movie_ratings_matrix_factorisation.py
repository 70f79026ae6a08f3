"""Movie-ratings recommender: biased matrix factorisation trained with plain SGD on a summed squared error.

Model: rating(u, i) = mu + b_u + b_i + <P_u, Q_i>, with 32-dimensional
user and item embeddings (nn.Embedding, init N(0, 0.1)), zero-initialised
per-user and per-item biases, and mu fixed to 3.5 (a buffer, the usual
"global mean" offset).  Loss: sum of squared errors over the batch (the
classic MF formulation); the printed/recorded loss is the per-rating MSE
(loss / batch).  Plain SGD (no momentum) at learning rate 0.5, halved
every 200 steps (StepLR), batch 512, 1000 steps.

Data: 800 users x 500 items; 60000 ratings generated in-script from a
rank-6 ground-truth factor model with user/item biases and noise,
clipped to the 1..5 star range (rating variance ~1.16).  The first 54000
are used for training, the rest as a held-out check printed at the end.

What goes wrong: with a summed loss, each embedding row's gradient
scales with how often that user/item appears in the batch, and the
bilinear term makes the curvature grow with the embedding norms.  A
learning rate of 0.5 is far above the stability limit: the first updates
overshoot, the embeddings grow, which raises the curvature further, and
the error grows faster than geometrically (batch MSE 1.11 at step 0,
then 2.4, 5.2, 21, 1.6e3, 3e10, 3e23).  At step 7 (counted from 0) the
loss is inf and the gradients are NaN; from step 8 the loss and the
parameters are NaN, training keeps going, and the run prints
final_loss=nan.

--clean: uses a learning rate of 0.05 (same optimiser, StepLR schedule
and everything else).  The run stays finite and the training MSE falls
from 1.11 to a mean of ~0.059 over the last 20 steps (held-out MSE
~0.19, against a rating variance of ~1.16).
"""
# recover-heldout: {"category": "learning_rate_too_high", "nan_step": 7}

import argparse

import torch
import torch.nn as nn


def make_ratings(n_users=800, n_items=500, n_obs=60000, rank=6, seed=7):
    g = torch.Generator().manual_seed(seed)
    U = torch.randn(n_users, rank, generator=g) / rank ** 0.25
    V = torch.randn(n_items, rank, generator=g) / rank ** 0.25
    bu = 0.4 * torch.randn(n_users, generator=g)
    bi = 0.6 * torch.randn(n_items, generator=g)
    u = torch.randint(0, n_users, (n_obs,), generator=g)
    i = torch.randint(0, n_items, (n_obs,), generator=g)
    r = 3.5 + bu[u] + bi[i] + (U[u] * V[i]).sum(1) + 0.3 * torch.randn(n_obs, generator=g)
    return u, i, r.clamp(1, 5), n_users, n_items


class BiasedMF(nn.Module):
    def __init__(self, n_users, n_items, k=32):
        super().__init__()
        self.P = nn.Embedding(n_users, k)
        self.Q = nn.Embedding(n_items, k)
        self.bu = nn.Embedding(n_users, 1)
        self.bi = nn.Embedding(n_items, 1)
        self.register_buffer("mu", torch.tensor(3.5))
        nn.init.normal_(self.P.weight, std=0.1)
        nn.init.normal_(self.Q.weight, std=0.1)
        nn.init.zeros_(self.bu.weight)
        nn.init.zeros_(self.bi.weight)

    def forward(self, u, i):
        return (self.mu + self.bu(u).squeeze(1) + self.bi(i).squeeze(1)
                + (self.P(u) * self.Q(i)).sum(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="use a sensible learning rate")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    u, i, r, n_users, n_items = make_ratings()
    n_train = 54000
    model = BiasedMF(n_users, n_items)
    lr = 0.05 if args.clean else 0.5
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=200, gamma=0.5)
    steps, batch = 1000, 512

    g = torch.Generator().manual_seed(1)
    losses = []
    for step in range(steps):
        idx = torch.randint(0, n_train, (batch,), generator=g)
        pred = model(u[idx], i[idx])
        loss = ((pred - r[idx]) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        mse = loss.item() / batch
        losses.append(mse)
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step:4d}  mse {mse:.4f}  lr {sched.get_last_lr()[0]:.3e}")

    with torch.no_grad():
        val = ((model(u[n_train:], i[n_train:]) - r[n_train:]) ** 2).mean().item()
    print(f"held-out mse {val:.4f}")
    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
