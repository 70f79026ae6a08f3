import torch
import torch.nn.functional as F


def attend(q, k, v, pad_mask):
    scores = q @ k.transpose(-2, -1) / q.size(-1) ** 0.5
    scores = scores.masked_fill(pad_mask == 0, torch.finfo(scores.dtype).min)
    attn = F.softmax(scores, dim=-1)
    return attn @ v


def attend2(scores, mask):
    scores = scores.masked_fill(~mask, -1e9)
    return scores.softmax(-1)


def attend3(q, k, v, mask):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
