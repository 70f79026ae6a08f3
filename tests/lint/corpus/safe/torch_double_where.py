import torch


def safe_sqrt(sq):
    pos = sq > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, sq, torch.ones_like(sq))), torch.zeros_like(sq))


def safe_ratio(a, b):
    nz = b != 0
    return torch.where(nz, a / torch.where(nz, b, 1.0), 0.0)


def relu_like(x):
    return torch.where(x > 0, x, 0.01 * x)
