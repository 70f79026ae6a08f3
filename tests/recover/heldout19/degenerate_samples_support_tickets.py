"""Customer-churn prediction from each customer's set of support tickets (Deep Sets).

Model: a Deep Sets classifier.  Every support ticket (8 features: log
response time, severity one-hot, sentiment score, reopened flag, ...) goes
through phi = Linear(8, 64) -> ReLU -> Linear(64, 64) -> ReLU; the ticket
embeddings of a customer are mean-pooled with a padding mask (sum of the
valid rows divided by the number of tickets), concatenated with 3 account
features (tenure, plan tier, monthly spend) and fed to rho = Linear(67, 64)
-> ReLU -> Linear(64, 1), trained with BCE-with-logits on the churn label.
Adam (lr 2e-3), ExponentialLR(gamma=0.8) stepped once per epoch, batch 32,
300 training steps in an epoch loop (4 epochs x 75 steps).

Data: 2400 synthetic customers generated in-script and written at start-up
with torch.save as 6 shard files (400 customers each, a list of dicts) in
a tempfile directory.  TicketShards is a map-style Dataset that loads a
shard on first use and caches it; each item is a dict mixing tensors,
strings and lists: {"customer_id": str, "tickets": float tensor (n, 8),
"tags": list of str, "account": tensor (3,), "churned": int}.  A custom
collate_fn pads the variable-length ticket sets to the longest in the batch
and returns a lengths tensor, the stacked account features and labels, and
the ids and tag lists as plain Python lists.  Churn is imbalanced (~15%
positive), so the DataLoader samples with a WeightedRandomSampler
(inverse class frequency, replacement=True, 2400 draws per epoch).

What goes wrong: customers have between 1 and 11 tickets, except four
accounts opened in the last days that have never filed a ticket: dataset
indices 149, 290, 793 and 1396 (ordinary, legitimate customers, all
non-churned).  Their ticket set is empty, so the masked mean divides a
zero sum by a zero count (0/0) and the pooled embedding is NaN.  Training
is normal (loss 0.70 -> ~0.4) until step 66 (counted from 0), the first
batch the sampler draws one of them in (index 290): the loss is NaN, Adam
turns every parameter into NaN, and the loss stays NaN for the rest of the
run.

--clean: the mean pooling divides by lengths.clamp(min=1) instead of
lengths, so an empty set pools to the zero vector; nothing else changes.
The run then reaches a mean loss of ~0.37 over the last 20 steps (batch
accuracy ~0.88 on the class-balanced batches).
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [149, 290, 793, 1396], "nan_step": 66}

import argparse
import os
import shutil
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

N_CUSTOMERS = 2400
SHARD_SIZE = 400
TICKET_DIM = 8
TAGS = ["billing", "login", "outage", "refund", "upgrade", "bug", "shipping", "other"]


def make_customers(seed=14):
    rng = np.random.default_rng(seed)
    customers = []
    for i in range(N_CUSTOMERS):
        tenure = rng.exponential(18.0)                     # months
        tier = rng.integers(0, 3)
        spend = rng.lognormal(3.5 + 0.4 * tier, 0.3)
        new_account = rng.random() < 0.0015
        n = 0 if new_account else int(min(14, 1 + rng.poisson(3.0)))
        unhappy = rng.random() < 0.25
        resp = rng.normal(2.5 + (1.0 if unhappy else 0.0), 0.6, size=n)           # log hours
        sev = rng.choice(3, size=n, p=[0.2, 0.4, 0.4] if unhappy else [0.6, 0.3, 0.1])
        senti = np.tanh(rng.normal(-0.6 if unhappy else 0.3, 0.5, size=n))
        reopened = (rng.random(n) < (0.35 if unhappy else 0.08)).astype(np.float64)
        tickets = np.zeros((n, TICKET_DIM), dtype=np.float32)
        tickets[:, 0] = resp - 2.5
        tickets[np.arange(n), 1 + sev] = 1.0
        tickets[:, 4] = senti
        tickets[:, 5] = reopened
        tickets[:, 6] = rng.normal(0, 1, size=n)           # agent id hash (noise)
        tickets[:, 7] = rng.random(n)                      # time of day
        z = -3.6 + 4.0 * unhappy + 0.3 * n / 4 - 0.04 * min(tenure, 48) + 0.5 * (tier == 0)
        churned = int(rng.random() < 1 / (1 + np.exp(-z))) if n > 0 else 0
        account = torch.tensor([np.log1p(tenure) - 2.5, tier - 1.0, np.log(spend) - 4.0], dtype=torch.float32)
        customers.append({
            "customer_id": f"C{100000 + i}",
            "tickets": torch.from_numpy(tickets),
            "tags": [TAGS[j] for j in rng.integers(0, len(TAGS), size=n)],
            "account": account,
            "churned": churned,
        })
    return customers


def write_shards(root):
    customers = make_customers()
    for k in range(0, N_CUSTOMERS, SHARD_SIZE):
        torch.save(customers[k:k + SHARD_SIZE], os.path.join(root, f"customers-{k // SHARD_SIZE:03d}.pt"))


class TicketShards(Dataset):
    def __init__(self, root):
        self.files = sorted(os.path.join(root, f) for f in os.listdir(root) if f.endswith(".pt"))
        self._cache = {}

    def __len__(self):
        return len(self.files) * SHARD_SIZE

    def __getitem__(self, idx):
        k, j = divmod(idx, SHARD_SIZE)
        if k not in self._cache:
            self._cache[k] = torch.load(self.files[k])
        return self._cache[k][j]

    def labels(self):
        return [self[i]["churned"] for i in range(len(self))]


def collate(items):
    lengths = torch.tensor([it["tickets"].shape[0] for it in items])
    tickets = torch.zeros(len(items), max(int(lengths.max()), 1), TICKET_DIM)
    for b, it in enumerate(items):
        tickets[b, :len(it["tickets"])] = it["tickets"]
    return {
        "customer_id": [it["customer_id"] for it in items],
        "tags": [it["tags"] for it in items],
        "tickets": tickets,
        "lengths": lengths,
        "account": torch.stack([it["account"] for it in items]),
        "churned": torch.tensor([it["churned"] for it in items], dtype=torch.float32),
    }


class ChurnDeepSets(nn.Module):
    def __init__(self, safe_mean=False):
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(TICKET_DIM, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.rho = nn.Sequential(nn.Linear(64 + 3, 64), nn.ReLU(), nn.Linear(64, 1))
        self.safe_mean = safe_mean

    def forward(self, tickets, lengths, account):
        h = self.phi(tickets)                                             # (B, T, 64)
        mask = (torch.arange(tickets.shape[1])[None, :] < lengths[:, None]).float()
        total = (h * mask.unsqueeze(-1)).sum(1)
        count = lengths.float().unsqueeze(-1)
        if self.safe_mean:
            count = count.clamp(min=1.0)
        pooled = total / count
        return self.rho(torch.cat([pooled, account], dim=-1)).squeeze(-1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="clamp the ticket count in the mean pooling")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    tmp = tempfile.mkdtemp(prefix="churn_shards_")
    try:
        write_shards(tmp)
        ds = TicketShards(tmp)
        labels = torch.tensor(ds.labels())
        class_count = torch.bincount(labels, minlength=2).float()
        weights = (1.0 / class_count)[labels]
        print(f"{len(ds)} customers, churn rate {labels.float().mean():.3f}")
        sampler = WeightedRandomSampler(weights, num_samples=len(ds), replacement=True,
                                        generator=torch.Generator().manual_seed(7))
        loader = DataLoader(ds, batch_size=32, sampler=sampler, collate_fn=collate, drop_last=True)

        model = ChurnDeepSets(safe_mean=args.clean)
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.8)

        losses = []
        step = 0
        for epoch in range(4):
            for batch in loader:
                if step >= args.steps:
                    break
                logits = model(batch["tickets"], batch["lengths"], batch["account"])
                loss = F.binary_cross_entropy_with_logits(logits, batch["churned"])
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
                if step % 20 == 0:
                    acc = ((logits > 0).float() == batch["churned"]).float().mean().item()
                    print(f"epoch {epoch} step {step:4d}  loss {loss.item():.4f}  acc {acc:.3f}")
                step += 1
            sched.step()

        print(f"final_loss={sum(losses[-20:]) / 20}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
