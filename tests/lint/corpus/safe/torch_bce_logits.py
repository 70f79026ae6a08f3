import torch
import torch.nn.functional as F
from torch import nn


def d_loss(real_logits, fake_logits):
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


crit = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(3.0))
logp = F.logsigmoid(z)
log1mp = F.logsigmoid(-z)
