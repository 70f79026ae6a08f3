import torch


def rms(x):
    return (x ** 2).mean(dim=-1) ** 0.5  # expect: NS104


def dist(a, b):
    diff = a - b
    sq = (diff * diff).sum(dim=1)
    return sq.sqrt()  # expect: NS104
