"""Seed 001 ported: real business data with dirty rows; "the dirty data made my logits 0".

The post: loss suddenly becomes NaN at a fixed iteration range; the cause was dirty
training samples that made the logits 0, then NaN; found by batch_size=1, shuffle=False
and deleting them. Port: a non-negative scoring model (bias-free Linear + ReLU on
non-negative features, scores normalised to probabilities p = s / s.sum()) trained with
-log p[y]. Three rows of the table are dirty: every field is 0 (a failed join), so every
score is exactly 0 and the normalisation is 0/0 = NaN (loss phase, op div). The rows are
finite, so by the contract ("degenerate but valid samples that make an unsafe op fail are
reported under that op's cause, with the samples in bad_samples") the cause is
division_by_zero with samples [411]; quarantining them (or --clean) lets training finish.
"""
# nansentry-scenario: {"cause": "division_by_zero", "phase": "loss", "op": "div", "module": null, "samples": [411], "recoverable": true, "heldout": false, "step": 3}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="delete the dirty rows")
args = parser.parse_args()
torch.manual_seed(0)
DIRTY = [88, 305, 411]


class Orders(Dataset):
    def __init__(self, n=480, d=12):
        self.y = torch.randint(0, 4, (n,))
        self.x = torch.rand(n, d) + torch.eye(4, d)[self.y] * 2
        self.x[DIRTY] = 0.0  # failed join: all fields empty -> 0
        self.keep = [i for i in range(n) if not (args.clean and i in DIRTY)]

    def __len__(self):
        return len(self.keep)

    def __getitem__(self, i):
        i = self.keep[i]
        return self.x[i], self.y[i]


model = nn.Sequential(nn.Linear(12, 4, bias=False), nn.ReLU())
with torch.no_grad():
    model[0].weight.abs_()
opt = torch.optim.SGD(model.parameters(), lr=0.05)
loader = DataLoader(Orders(), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(4):
    for x, y in loader:
        scores = model(x)
        p = scores / scores.sum(1, keepdim=True)  # EXPECT-NAN
        loss = -torch.log(p[torch.arange(len(y)), y] + 1e-6).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
