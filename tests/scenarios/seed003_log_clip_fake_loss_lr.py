"""Seed 003 ported: loss = log(clip(y, 1e-8, max(y))) hides log(0); the update then NaNs.

The post: clipping the argument of log to [1e-8, reduce_max(y)] keeps the loss finite but
"fake" (zero gradient where it clips), training stalls, and later NaN appears "when
updating the network weights" (summary histogram of weight_1 is NaN), which the author
attributes to a too-high learning rate. Port: a two-head network (softmax class head with
the clipped-log loss + a regression head with MSE, shared trunk), SGD lr 0.3. The clip
indeed never lets the log produce -inf; what actually produces the first non-finite value
is the divergence of the weights under the large step (loss and weights grow step after
step until the trunk's activations overflow). Cause learning_rate_too_high; --clean lr/100.
"""
# nansentry-scenario: {"cause": "learning_rate_too_high", "phase": "forward", "op": "addmm", "module": "trunk.2", "samples": [], "recoverable": true, "heldout": false, "step": 9}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="lr / 100")
args = parser.parse_args()
torch.manual_seed(0)
n = 512
x = torch.randn(n, 10)
cls = (x[:, 0] + x[:, 1] > 0).long()
reg = (x[:, 2] * 2 + x[:, 3]).unsqueeze(1)


class TwoHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(10, 64), nn.LeakyReLU(0.1), nn.Linear(64, 64), nn.LeakyReLU(0.1))
        self.cls = nn.Linear(64, 2)
        self.reg = nn.Linear(64, 1)

    def forward(self, x):
        h = self.trunk(x)  # EXPECT-NAN
        return torch.softmax(self.cls(h), 1), self.reg(h)


model = TwoHead()
opt = torch.optim.SGD(model.parameters(), lr=0.003 if args.clean else 0.3)
loader = DataLoader(TensorDataset(x, cls, reg), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(4):
    for xb, cb, rb in loader:
        y, r = model(xb)
        y_true = nn.functional.one_hot(cb, 2).float()
        xent = -(y_true * torch.log(torch.clamp(y, 1e-8, y.max().item()))).sum(1).mean()
        loss = xent + nn.functional.mse_loss(r, rb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4g}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
