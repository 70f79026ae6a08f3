import tensorflow as tf

dist = tf.reduce_sum(tf.square(emb_a - emb_b), 1) ** 0.5  # expect: NS104
length = tf.pow(tf.reduce_sum(v * v, axis=-1), 0.5)  # expect: NS104
