import torch


def safe_dist(sq):
    return torch.where(sq > 0, torch.sqrt(sq), torch.zeros_like(sq))  # expect: NS111


def ratio(a, b):
    return torch.where(b != 0, a / b, 0.0)  # expect: NS111
