"""Weight-tied iterative refinement net ("think longer"): the same block applied K times.

z <- relu(A z + B x) repeated K times, K growing over training (a recurrence over depth,
not time: iterative/"deep thinking" networks increase K to solve harder instances). A was
initialised orthogonal with gain 2.5 so that "information does not die out". The output
is an orientation and the loss is the bounded 1 - cos error; the loss stays < 2 while the
gradient is multiplied by A at every iteration and grows by orders of magnitude as K
increases, until an update overflows the iterate (step 7, or 8 on an AMD EPYC: BLAS
rounding moves a blow-up by a step). Held out: depth recurrence (no sequence), momentum
SGD with gradient accumulation over 2 micro-batches, dict batches.
Fix: clip_grad_norm_ (--clean clips at 1.0 with gain 1.0).
"""
# nansentry-scenario: {"cause": "exploding_gradients", "phase": "forward", "op": "addmm", "module": "block.A", "samples": [], "recoverable": true, "heldout": true, "step": [7, 8]}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="clip gradients, gain 1.0")
args = parser.parse_args()
torch.manual_seed(0)


class Orientations(Dataset):
    def __init__(self, n=512):
        self.x = torch.rand(n, 8)
        self.angle = torch.atan2(self.x[:, 0] - self.x[:, 1], self.x[:, 2] - self.x[:, 3])

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "angle": self.angle[i]}


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.A = nn.Linear(d, d)
        self.B = nn.Linear(8, d)
        nn.init.orthogonal_(self.A.weight, gain=1.0 if args.clean else 2.5)

    def forward(self, z, x):
        return torch.relu(self.A(z) + self.B(x))  # EXPECT-NAN


class Thinker(nn.Module):
    def __init__(self, d=32):
        super().__init__()
        self.block = Block(d)
        self.readout = nn.Linear(d, 1)
        self.d = d

    def forward(self, x, iterations):
        z = x.new_zeros(x.shape[0], self.d)
        for _ in range(iterations):
            z = self.block(z, x)
        return self.readout(z).squeeze(1)


model = Thinker()
opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
loader = DataLoader(Orientations(), batch_size=16, shuffle=True)
losses, step = [], 0
for i, batch in enumerate(loader):
    K = 4 + 3 * step
    loss = (1 - torch.cos(model(batch["x"], K) - batch["angle"])).mean()
    (loss / 2).backward()
    losses.append(loss.item())
    if i % 2 == 1:
        if args.clean:
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        if step % 4 == 0:
            print(f"step {step} K {K} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
