import torch


def masked_mean(loss, mask):
    return (loss * mask).sum() / mask.sum().clamp(min=1)


def masked_mean2(loss, mask):
    return (loss * mask).sum() / (mask.sum() + 1e-8)


def mean_over_batch(loss, batch_size):
    return loss.sum() / batch_size
