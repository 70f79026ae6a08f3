"""Healthy baseline: a plain MLP classifier on synthetic tabular data.

Map-style Dataset + DataLoader(shuffle=True), Adam, cross-entropy, an eval phase on a
held-out split every epoch under torch.no_grad(). Nothing goes wrong: the guard must stay
silent and leave the run bit-identical.
"""
# nansentry-scenario: {"cause": "healthy", "phase": null, "op": null, "module": null, "samples": [], "recoverable": false, "heldout": false, "step": null}
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)


class Blobs(Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.y = torch.randint(0, 4, (n,), generator=g)
        centers = torch.randn(4, 16, generator=torch.Generator().manual_seed(123)) * 2
        self.x = centers[self.y] + torch.randn(n, 16, generator=g)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


train = DataLoader(Blobs(512, 1), batch_size=32, shuffle=True)
val = DataLoader(Blobs(128, 2), batch_size=64)
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()

losses, step = [], 0
for epoch in range(4):
    model.train()
    for x, y in train:
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 16 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
    model.eval()
    with torch.no_grad():
        correct = sum((model(x).argmax(1) == y).sum().item() for x, y in val)
    print(f"epoch {epoch} val_acc {correct / 128:.3f}")
print(f"final_loss={sum(losses[-10:]) / 10}")
