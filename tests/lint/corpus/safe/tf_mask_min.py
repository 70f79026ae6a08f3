import tensorflow as tf


def masked_attention(scores, mask):
    scores += (1.0 - tf.cast(mask, scores.dtype)) * scores.dtype.min
    return tf.nn.softmax(scores, axis=-1)


def masked_attention2(scores, mask):
    return tf.nn.softmax(tf.where(mask, scores, -1e9), axis=-1)
