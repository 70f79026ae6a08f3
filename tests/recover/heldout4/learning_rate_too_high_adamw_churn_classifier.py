"""Churn classifier (3-layer MLP, AdamW lr=0.2 with warm-up): loss suddenly nan after ~80 steps.

Model: MLP 16 -> 64 -> 64 -> 1 on standardised tabular customer features,
binary "will churn" label (about 5% label noise), trained with AdamW
(lr=0.2, weight_decay=0.01) and a linear warm-up over the first 60 steps
(LambdaLR), batch size 64, 200 optimizer steps.  The loss is the usual
binary cross-entropy written out by hand on sigmoid probabilities:
    p = torch.sigmoid(logit)
    loss = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()

What goes wrong: lr=0.2 is far too high for Adam on this model.  Once the
warm-up gets close to the full learning rate, the updates make the weights
(and hence the logits) grow very fast (max logit ~5 at step 76, ~13 at step
80).  At optimizer step 82 one churned customer's logit reaches ~20.7,
sigmoid() rounds to exactly 1.0 in float32, log(1 - p) = -inf and
(1 - y) * log(1 - p) = 0 * -inf = nan, so the batch loss is nan.
The backward pass turns that into nan gradients, AdamW writes nan into every
weight, and every loss afterwards is nan.  final_loss is nan.

--clean: the same script with a sensible learning rate (lr=1e-3, same
warm-up, nothing else changed); logits stay moderate and the loss goes
0.70 -> ~0.33.
"""
# recover-heldout: {"category": "learning_rate_too_high", "bad_samples": [], "nan_step": 82}

import argparse

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset


def make_customers(n, gen, label_noise=0.05):
    x = torch.randn(n, 16, generator=gen)  # already standardised features
    w = torch.randn(16, generator=gen)
    z = 0.7 * (x @ w) + 1.5 * torch.sin(2 * x[:, 0]) + x[:, 1] * x[:, 2]
    y = (z > 0.5).float()
    flip = torch.rand(n, generator=gen) < label_noise
    y[flip] = 1 - y[flip]
    return x, y


def main():
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true", help="use lr=1e-3 instead of 0.2")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()

    lr = 1e-3 if args.clean else 0.2
    warmup_steps = 60

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(3)
    x, y = make_customers(4096, gen)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True,
                        generator=torch.Generator().manual_seed(5))

    model = nn.Sequential(
        nn.Linear(16, 64), nn.ReLU(),
        nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 1),
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup_steps))

    losses = []
    step = 0
    while step < args.steps:
        for xb, yb in loader:
            logit = model(xb).squeeze(1)
            p = torch.sigmoid(logit)
            loss = -(yb * torch.log(p) + (1 - yb) * torch.log(1 - p)).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            if step % 10 == 0:
                acc = ((logit > 0).float() == yb).float().mean().item()
                print(f"step {step:4d} lr {scheduler.get_last_lr()[0]:.4f} "
                      f"loss {loss.item():.4f} acc {acc:.3f}")
            step += 1
            if step >= args.steps:
                break

    last = losses[-10:]
    print(f"final_loss={sum(last) / len(last)}")


if __name__ == "__main__":
    main()
