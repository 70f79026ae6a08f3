import torch


def softmax(x):
    e = torch.exp(x)
    return e / e.sum(dim=-1, keepdim=True)  # expect: NS105


def softmax2(x):
    return torch.exp(x) / torch.sum(torch.exp(x), dim=1, keepdim=True)  # expect: NS105
