import tensorflow as tf


def triplet(anchor, pos, neg, margin=0.2):
    d_pos = tf.norm(anchor - pos, axis=1)  # expect: NS104
    d_neg = tf.norm(anchor - neg, axis=1)  # expect: NS104
    return tf.reduce_mean(tf.maximum(d_pos - d_neg + margin, 0.0))
