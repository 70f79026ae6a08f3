import torch
import torch.nn.functional as F


def cosine(a, b):
    return F.cosine_similarity(a, b, dim=-1, eps=1e-8)


def cosine2(a, b):
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1) + 1e-8)


def cosine3(a, b):
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp_min(1e-8)
