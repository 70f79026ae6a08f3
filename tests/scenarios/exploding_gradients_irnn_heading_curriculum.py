"""IRNN (ReLU RNN, identity-initialised recurrence) predicting a heading angle, length curriculum.

nn.RNN(nonlinearity="relu") with the recurrent matrix initialised to 1.6 * I (the IRNN
recipe, with a gain picked "a bit above 1 to remember longer"). The target is an angle and
the loss is the bounded angular error 1 - cos(pred - target): it stays in [0, 2] whatever
the model outputs, so the loss never diverges. The dataset is sorted by length (a
curriculum, shuffle=False): each step sees longer sequences and the gradient, which is
multiplied by the recurrent gain at every time step, grows by orders of magnitude over
the steps (5 -> 1e2 -> 2e3 -> 1e4 -> ... -> 3e10 at step 7, loss ~1 throughout); the
update of step 7 (lr * 3e10) then throws the recurrent weights far away and the next
forward overflows float32 inside the RNN (step 8, module "rnn", addmm; step 7 on an AMD
EPYC, whose BLAS rounds the norm-1e4 steps differently: 6.5e5 at step 6 there). Fix: gradient clipping (--clean clips at 1.0 and
uses the plain identity init); a smaller recurrent gain.
"""
# nansentry-scenario: {"cause": "exploding_gradients", "phase": "forward", "op": "addmm", "module": "rnn", "samples": [], "recoverable": true, "heldout": false, "step": [7, 8]}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="clip gradients, identity init")
args = parser.parse_args()
torch.manual_seed(0)


class Headings(Dataset):
    """Sorted by length: index i has length 8 + 4 * (i // 8)."""

    def __init__(self, n=160):
        self.len = [8 + 4 * (i // 8) for i in range(n)]
        self.x = [torch.rand(t, 4) * 0.1 for t in self.len]
        self.y = [torch.atan2(x[:, 0].sum() - x[:, 1].sum(), x[:, 2].sum() - x[:, 3].sum()) for x in self.x]

    def __len__(self):
        return len(self.len)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def collate(batch):
    t = min(len(x) for x, _ in batch)
    return torch.stack([x[-t:] for x, _ in batch]), torch.stack([y for _, y in batch])


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(4, 32, nonlinearity="relu", batch_first=True)
        with torch.no_grad():
            self.rnn.weight_hh_l0.copy_(torch.eye(32) * (1.0 if args.clean else 1.6))
        self.head = nn.Linear(32, 1)

    def forward(self, x):
        out, _ = self.rnn(x)  # EXPECT-NAN
        return self.head(out[:, -1]).squeeze(1)


model = Model()
opt = torch.optim.SGD(model.parameters(), lr=1e-4)
loader = DataLoader(Headings(), batch_size=8, shuffle=False, collate_fn=collate)
losses, step = [], 0
for x, y in loader:
    loss = (1 - torch.cos(model(x) - y)).mean()
    loss.backward()
    if args.clean:
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad()
    losses.append(loss.item())
    if step % 5 == 0:
        print(f"step {step} len {x.shape[1]} loss {loss.item():.4f}")
    step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
