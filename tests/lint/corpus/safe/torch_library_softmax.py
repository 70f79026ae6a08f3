import torch
import torch.nn.functional as F


def softmax(x):
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


def softmax2(x):
    return F.softmax(x, dim=-1)


def lse(x):
    return torch.logsumexp(x, dim=-1)


def lse2(x):
    m = x.max(dim=-1, keepdim=True)[0]
    return m.squeeze(-1) + torch.log(torch.exp(x - m).sum(-1))
