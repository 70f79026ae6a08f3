import torch


def euclidean(a, b):
    return torch.sqrt(((a - b) ** 2).sum(-1))  # expect: NS104


def contrastive(a, b, y, margin=1.0):
    d = torch.sqrt(torch.sum(torch.pow(a - b, 2), dim=1))  # expect: NS104
    return (y * d ** 2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2).mean()
