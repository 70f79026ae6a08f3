"""RESEARCH: log(1e-10 + 1 - p): the epsilon is absorbed in float32."""
import torch

p = torch.sigmoid(z)
loss = -(y * torch.log(p + 1e-10) + (1 - y) * torch.log(1e-10 + 1 - p)).mean()  # expect: NS101
