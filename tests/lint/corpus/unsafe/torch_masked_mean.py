import torch


def masked_mean(loss, mask):
    return (loss * mask).sum() / mask.sum()  # expect: NS103


def token_accuracy(pred, tgt, pad_id):
    valid = tgt != pad_id
    correct = ((pred == tgt) & valid).sum()
    return correct.float() / valid.sum().float()  # expect: NS103
