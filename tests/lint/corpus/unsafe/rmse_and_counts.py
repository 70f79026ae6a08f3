import tensorflow as tf
import torch
import torch.nn.functional as F


def rmse(pred, target):
    return torch.sqrt(F.mse_loss(pred, target))  # expect: NS104


def rmse_tf(pred, target):
    return tf.sqrt(tf.reduce_mean(tf.math.squared_difference(pred, target)))  # expect: NS104


def per_token(loss, mask):
    n = tf.cast(tf.math.count_nonzero(mask), tf.float32)
    return tf.reduce_sum(loss) / n  # expect: NS103
