import numpy as np
import tensorflow as tf


def masked_attention(scores, mask):
    paddings = tf.ones_like(scores) * (-np.inf)
    scores = tf.where(tf.equal(mask, 0), paddings, scores)
    return tf.nn.softmax(scores, axis=-1)  # expect: NS108
