import math
import torch


def select(logits, allowed):
    logits = torch.where(allowed, logits, torch.full_like(logits, -math.inf))
    return logits.softmax(-1)  # expect: NS108
