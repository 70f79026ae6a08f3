import torch
import torch.nn.functional as F


def euclidean(a, b, eps=1e-8):
    return torch.sqrt(((a - b) ** 2).sum(-1) + eps)


def euclidean2(a, b):
    return F.pairwise_distance(a, b)


def euclidean3(a, b):
    return torch.cdist(a, b)


def dist4(a, b):
    return torch.norm(a - b, dim=-1)


def dist5(a, b):
    return torch.linalg.vector_norm(a - b, dim=-1)
