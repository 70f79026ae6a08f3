import tensorflow as tf


@tf.function
def loss(labels, logits):
    p = tf.sigmoid(logits)
    pos = labels * tf.math.log(p)  # expect: NS101
    neg = (1.0 - labels) * tf.math.log(1.0 - p)  # expect: NS101
    return -tf.reduce_mean(pos + neg)
