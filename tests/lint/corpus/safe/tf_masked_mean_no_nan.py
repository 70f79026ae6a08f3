import tensorflow as tf


def masked_loss(loss, mask):
    mask = tf.cast(mask, loss.dtype)
    return tf.math.divide_no_nan(tf.reduce_sum(loss * mask), tf.reduce_sum(mask))


def masked_loss2(loss, mask):
    return tf.reduce_sum(loss * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
