import torch
from torch import nn


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(100, 784))

    def forward(self, z):
        return torch.sigmoid(self.net(z))


model = Generator()
out = model(noise)
loss = -(target * torch.log(out) + (1 - target) * torch.log(1 - out)).mean()  # expect: NS101, NS101
