import torch


def attention(q, k, key_padding):
    attn_mask = torch.zeros(key_padding.shape).masked_fill(key_padding, float("-inf"))
    scores = q @ k.transpose(-1, -2)
    scores = scores + attn_mask[:, None, :]
    return torch.softmax(scores, dim=-1)  # expect: NS108
