import torch


def sigmoid(x):
    return torch.exp(x) / (1 + torch.exp(x))  # expect: NS105


def grad_norm(params):
    total = sum(p.grad.pow(2).sum() for p in params)
    return total.pow(0.5)


def dist(a, b):
    s = ((a - b) ** 2).sum(-1)
    return s.pow(0.5)  # expect: NS104


def attention(scores, keep):
    bias = (1.0 - keep.float()) * float("-inf")
    return torch.softmax(scores + bias, dim=-1)  # expect: NS108
