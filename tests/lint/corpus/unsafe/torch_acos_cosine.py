import torch
import torch.nn.functional as F


def angle(a, b):
    return torch.acos(F.cosine_similarity(a, b, dim=-1))  # expect: NS106


def angle2(a, b):
    cos = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1) + 1e-8)
    return cos.clamp(-1, 1).acos()  # expect: NS106
