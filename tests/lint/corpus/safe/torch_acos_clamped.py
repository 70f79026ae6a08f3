import torch
import torch.nn.functional as F


def angle(a, b, eps=1e-7):
    cos = F.cosine_similarity(a, b, dim=-1)
    return torch.acos(cos.clamp(-1 + eps, 1 - eps))


def angle2(a, b):
    return torch.acos(torch.clamp(F.cosine_similarity(a, b), -0.9999999, 0.9999999))


PI = math.acos(-1.0)
