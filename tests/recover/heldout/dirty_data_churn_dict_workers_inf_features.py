"""Customer-churn classifier on dict batches; a few exported rows carry inf features.

A tabular model: the subscription plan goes through an nn.Embedding, eleven numeric
usage features through a small MLP, the two are concatenated and a head predicts one of
three outcomes (stays / downgrades / churns) with cross-entropy and Adam. The Dataset is
map-style and returns dicts {"numeric": float32[11], "plan": int64, "label": int64};
the DataLoader shuffles and uses num_workers=2.

The export computed "spend per active day" as spend / active_days; three accounts that
were never active (dataset indices 189, 636 and 912) got +inf in that column. When the
first of them is drawn (step 23 of 120, in the first epoch) the first Linear layer turns
inf * (weights of both signs) into nan, the loss is nan and Adam writes nan into every
parameter; the run carries on with nan losses to the end.

Fix (--clean): the user drops the rows whose features are not finite before building the
dataset, the way one would after spotting the division in the export.
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [189, 636, 912], "nan_step": 23}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

N_ROWS, N_NUMERIC, N_PLANS = 960, 11, 6
BAD_ROWS = [189, 636, 912]


def make_table(seed=0):
    g = torch.Generator().manual_seed(seed)
    numeric = torch.randn(N_ROWS, N_NUMERIC, generator=g)
    plan = torch.randint(0, N_PLANS, (N_ROWS,), generator=g)
    plan_effect = torch.linspace(-1.0, 1.0, N_PLANS)[plan]
    score = numeric[:, 0] - 0.8 * numeric[:, 3] + 0.5 * numeric[:, 5] * numeric[:, 6] + plan_effect
    label = torch.bucketize(score, torch.tensor([-0.7, 0.7]))
    # spend / active_days with active_days == 0 for a few accounts
    numeric[BAD_ROWS, 7] = float("inf")
    return numeric, plan, label


class ChurnTable(Dataset):
    def __init__(self, numeric, plan, label):
        self.numeric, self.plan, self.label = numeric, plan, label

    def __len__(self):
        return len(self.label)

    def __getitem__(self, i):
        return {"numeric": self.numeric[i], "plan": self.plan[i], "label": self.label[i]}


class ChurnModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.plan_emb = nn.Embedding(N_PLANS, 8)
        self.numeric = nn.Sequential(nn.Linear(N_NUMERIC, 48), nn.ReLU(), nn.Linear(48, 48), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(48 + 8, 32), nn.ReLU(), nn.Linear(32, 3))

    def forward(self, numeric, plan):
        h = torch.cat([self.numeric(numeric), self.plan_emb(plan)], dim=1)
        return self.head(h)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true", help="drop rows with non-finite features")
    args = parser.parse_args()
    torch.manual_seed(0)

    numeric, plan, label = make_table()
    if args.clean:
        keep = torch.isfinite(numeric).all(dim=1)
        numeric, plan, label = numeric[keep], plan[keep], label[keep]
    loader = DataLoader(ChurnTable(numeric, plan, label), batch_size=24, shuffle=True, num_workers=2)

    model = ChurnModel()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses, step = [], 0
    for epoch in range(3):
        for batch in loader:
            logits = model(batch["numeric"], batch["plan"])
            loss = loss_fn(logits, batch["label"])
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
            if step % 10 == 0:
                print(f"epoch {epoch} step {step} loss {loss.item():.4f}")
            step += 1
    print(f"final_loss={sum(losses[-10:]) / 10}")


if __name__ == "__main__":
    main()
