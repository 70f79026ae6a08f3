import torch


class Disc(torch.nn.Module):
    def forward(self, x):
        return torch.sigmoid(self.net(x))


def bce(model, x, y):
    p = torch.sigmoid(model.net(x))
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()  # expect: NS101, NS101
