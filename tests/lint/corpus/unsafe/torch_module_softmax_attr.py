import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(128, 10)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        return self.softmax(self.fc(x))


def train_step(model, x, y):
    out = model(x)
    loss = nn.NLLLoss()(torch.log(out), y)  # expect: NS101
    return loss


def loss2(fc, x):
    probs = nn.Softmax(dim=-1)(fc(x))
    return torch.log(probs).mean()  # expect: NS101
