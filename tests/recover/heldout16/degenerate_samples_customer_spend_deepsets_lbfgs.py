"""Next-month customer spend from the set of past orders: DeepSets trained with L-BFGS.

Model: a DeepSets regressor.  phi (Linear(6,32)-ReLU-Linear(32,32)-ReLU) embeds
every past order of a customer, the embeddings are mean-pooled over the
customer's real orders (padding masked out: masked sum divided by the number
of orders), and rho (Linear(32+4+1,32)-ReLU-Linear(32,1)) maps the pooled
vector, the customer features and sqrt(order count)/4 to the predicted spend.
The nn.Module is used only as the architecture: the weights live in a plain
dict of leaf tensors (JAX style) and the forward pass is
torch.func.functional_call(model, params, ...).  The dict's tensors are
optimised with torch.optim.LBFGS (lr 1, max_iter 4, history 10, strong-Wolfe
line search) on mini-batches; each opt.step(closure) re-evaluates the batch
inside the closure, which clears gradients with zero_grad(set_to_none=True).
MSE loss, batch 128, 150 steps (one opt.step per batch).

Data: 2400 synthetic customers generated in-script.  Each has up to 16 past
orders (log basket value, item count, days ago, discount flag, returned flag,
mobile flag), padded to 16 with a 0/1 mask, plus customer features (tenure,
one-hot region).  The spend target comes from a recency-weighted sum of
non-returned basket values, the order count, tenure and region, plus noise.
A map-style Dataset returns (orders, mask, customer, spend) and a DataLoader
(shuffle=True, seeded generator, drop_last) batches them.  Three customers
signed up recently and have no orders yet (dataset indices 567, 1301 and
2102): an all-zero mask, which is legitimate data (their spend is driven by
tenure and region only).

What goes wrong: the mean pooling divides the masked sum by mask.sum(), which
is 0 for a customer without orders, so the pooled vector is 0/0 = NaN.
Training is normal until then (loss 0.84 at step 0 -> ~0.006 by step 20).
The batch at step 31 (counted from 0) is the first that contains an empty
customer (index 567): its prediction, the batch loss and all gradients are
NaN, L-BFGS steps along a NaN direction and every weight becomes NaN; the
loss stays NaN for the rest of the run (final_loss=nan).

--clean: divides by mask.sum().clamp(min=1) instead, so an empty set pools to
the zero vector; nothing else changes.  The run then trains to a mean MSE of
~0.0034 over the last 20 steps (noise floor 0.0025).
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [567, 1301, 2102], "nan_step": 31}

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call
from torch.utils.data import DataLoader, Dataset

N_CUSTOMERS = 2400
MAX_ORDERS = 16
STEPS = 150


def make_customers(n=N_CUSTOMERS, seed=3):
    g = torch.Generator().manual_seed(seed)
    n_orders = torch.randint(1, MAX_ORDERS + 1, (n,), generator=g)
    for i in (567, 1301, 2102):      # signed up this month, no orders yet
        n_orders[i] = 0
    amount = torch.randn(n, MAX_ORDERS, generator=g) * 0.6 + 3.5          # log basket value
    n_items = torch.randint(1, 9, (n, MAX_ORDERS), generator=g).float()
    days_ago = torch.rand(n, MAX_ORDERS, generator=g) * 365
    discount = (torch.rand(n, MAX_ORDERS, generator=g) < 0.3).float()
    returned = (torch.rand(n, MAX_ORDERS, generator=g) < 0.08).float()
    mobile = (torch.rand(n, MAX_ORDERS, generator=g) < 0.5).float()
    feats = torch.stack([amount - 3.5, n_items / 4 - 1, days_ago / 180 - 1, discount, returned, mobile], -1)
    mask = (torch.arange(MAX_ORDERS)[None, :] < n_orders[:, None]).float()
    orders = feats * mask[..., None]

    tenure = torch.rand(n, generator=g) * 2 - 1
    region = F.one_hot(torch.randint(0, 3, (n,), generator=g), 3).float()
    customer = torch.cat([tenure[:, None], region], 1)

    recency = torch.exp(-(orders[..., 2] + 1) * 2) * mask
    value = (torch.exp(orders[..., 0]) * (1 - orders[..., 4]) * recency).sum(1)
    spend = (0.3 + 0.4 * torch.log1p(value) + 0.05 * mask.sum(1).sqrt() + 0.2 * tenure
             + region @ torch.tensor([0.0, 0.15, -0.1]))
    spend = spend + 0.05 * torch.randn(n, generator=g)
    return orders, mask, customer, spend


class Customers(Dataset):
    def __init__(self, orders, mask, customer, spend):
        self.orders, self.mask, self.customer, self.spend = orders, mask, customer, spend

    def __len__(self):
        return len(self.spend)

    def __getitem__(self, i):
        return self.orders[i], self.mask[i], self.customer[i], self.spend[i]


class DeepSets(nn.Module):
    def __init__(self, d_item=6, d_cust=4, hidden=32, safe_mean=False):
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(d_item, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.rho = nn.Sequential(nn.Linear(hidden + d_cust + 1, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.safe_mean = safe_mean

    def forward(self, orders, mask, customer):
        h = self.phi(orders) * mask[..., None]
        count = mask.sum(1, keepdim=True)
        if self.safe_mean:
            pooled = h.sum(1) / count.clamp(min=1)
        else:
            pooled = h.sum(1) / count
        return self.rho(torch.cat([pooled, customer, count.sqrt() / 4], -1)).squeeze(-1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="clamp the order count in the mean pooling")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    dataset = Customers(*make_customers())
    loader = DataLoader(dataset, batch_size=128, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(7))

    model = DeepSets(safe_mean=args.clean)
    params = {name: p.detach().clone().requires_grad_() for name, p in model.named_parameters()}
    opt = torch.optim.LBFGS(params.values(), lr=1.0, max_iter=4, history_size=10,
                            line_search_fn="strong_wolfe")

    losses = []
    step = 0
    while step < STEPS:
        for orders, mask, customer, spend in loader:
            if step >= STEPS:
                break

            def closure():
                opt.zero_grad(set_to_none=True)
                pred = functional_call(model, params, (orders, mask, customer))
                batch_loss = F.mse_loss(pred, spend)
                batch_loss.backward()
                return batch_loss

            loss = opt.step(closure)
            losses.append(loss.item())
            if step % 20 == 0 or step == STEPS - 1:
                print(f"step {step:4d}  mse {loss.item():.5f}")
            step += 1

    print(f"final_loss={sum(losses[-20:]) / 20}")


if __name__ == "__main__":
    main()
