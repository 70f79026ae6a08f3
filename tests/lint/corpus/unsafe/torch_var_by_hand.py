import torch


def std_by_hand(x):
    return torch.sqrt((x ** 2).mean() - x.mean() ** 2)  # expect: NS104
