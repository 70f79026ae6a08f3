"""Siamese/contrastive embedding with a hand-written Euclidean distance.

d = sqrt(sum((a - b)**2)) is finite (0) for a pair whose two items are identical, but its
derivative 1/(2*sqrt(0)) is infinite: the backward of sqrt yields inf, then 0*inf = NaN,
and every parameter turns NaN while the forward loss looked fine. The dataset of pairs holds
one degenerate pair (an item paired with itself, a de-duplication bug) at a known index.
Fix: sqrt(x + eps) or torch.linalg.vector_norm / F.pairwise_distance (safe at 0).
--clean uses torch.linalg.vector_norm.
"""
# nansentry-scenario: {"cause": "singular_gradient", "phase": "backward", "op": "sqrt", "module": null, "samples": [77], "recoverable": true, "heldout": false, "step": 3}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="a norm with a safe gradient at 0")
args = parser.parse_args()
torch.manual_seed(0)


class Pairs(Dataset):
    def __init__(self, n=256, d=12):
        self.items = torch.randn(64, d)
        self.cls = torch.arange(64) % 4
        self.items += torch.randn(4, d)[self.cls] * 2
        self.i = torch.randint(0, 64, (n,))
        self.j = (self.i + torch.randint(1, 64, (n,))) % 64  # never the item itself...
        self.j[77] = self.i[77]  # ...except here: the degenerate pair: an item with itself

    def __len__(self):
        return len(self.i)

    def __getitem__(self, k):
        i, j = self.i[k], self.j[k]
        return self.items[i], self.items[j], (self.cls[i] == self.cls[j]).float()


loader = DataLoader(Pairs(), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(12, 32), nn.Tanh(), nn.Linear(32, 8))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

losses, step = [], 0
for epoch in range(6):
    for a, b, same in loader:
        ea, eb = model(a), model(b)
        dist = torch.sqrt(((ea - eb) ** 2).sum(1))  # EXPECT-NAN
        if args.clean:
            dist = torch.linalg.vector_norm(ea - eb, dim=1)
        loss = (same * dist**2 + (1 - same) * torch.relu(2.0 - dist) ** 2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
