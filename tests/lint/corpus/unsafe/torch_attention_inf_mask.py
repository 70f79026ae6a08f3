import torch
import torch.nn.functional as F


def attend(q, k, v, pad_mask):
    scores = q @ k.transpose(-2, -1) / q.size(-1) ** 0.5
    scores = scores.masked_fill(pad_mask == 0, float("-inf"))
    attn = F.softmax(scores, dim=-1)  # expect: NS108
    return attn @ v
