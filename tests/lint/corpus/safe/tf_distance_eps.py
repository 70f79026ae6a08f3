import tensorflow as tf

d = tf.sqrt(tf.reduce_sum(tf.square(a - b), axis=1) + 1e-12)
l = tf.reduce_sum(x ** 2 + 1e-8) ** 0.5
scale = tf.sqrt(tf.cast(d_k, tf.float32))
