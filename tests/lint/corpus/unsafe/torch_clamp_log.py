import torch


def focal_loss(logits, target, gamma=2.0):
    p = torch.softmax(logits, dim=-1)
    pt = p.gather(1, target.unsqueeze(1)).squeeze(1)
    return (-(1 - pt) ** gamma * torch.log(pt.clamp(min=1e-7))).mean()  # expect: NS102
