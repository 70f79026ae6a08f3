import tensorflow as tf


def l2norm(v):
    return v / tf.sqrt(tf.reduce_sum(tf.square(v), axis=-1, keepdims=True))  # expect: NS103, NS104


def l2norm2(v):
    return v / tf.norm(v, axis=-1, keepdims=True)  # expect: NS103
