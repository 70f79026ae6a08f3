import tensorflow as tf


def masked_loss(loss, mask):
    mask = tf.cast(mask, loss.dtype)
    return tf.reduce_sum(loss * mask) / tf.reduce_sum(mask)  # expect: NS103
