import tensorflow as tf

cos_sim = tf.reduce_sum(a * b, -1)
theta = tf.math.acos(tf.clip_by_value(cos_sim, -1.0 + 1e-7, 1.0 - 1e-7))
