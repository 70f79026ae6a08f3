import numpy as np
import torch


def attn(scores, keep):
    scores[~keep] = -np.inf
    return torch.softmax(scores, -1)  # expect: NS108
