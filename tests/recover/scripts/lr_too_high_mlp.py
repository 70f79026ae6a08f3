"""Regression MLP trained with SGD at a step size ~20x too large (diverges to inf).

--clean uses the step size a person would pick after the divergence (lr / 10).
"""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true")
args = parser.parse_args()
torch.manual_seed(0)
x = torch.randn(512, 16)
y = torch.tanh(x @ torch.randn(16, 1)) + 0.05 * torch.randn(512, 1)
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 1))
lr = 0.05 if args.clean else 0.5
opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=40, gamma=0.7)
losses = []
for epoch in range(8):
    for xb, yb in loader:
        loss = nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
print(f"final_loss={sum(losses[-10:]) / 10}")
