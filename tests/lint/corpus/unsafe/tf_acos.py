import tensorflow as tf

cos_sim = tf.reduce_sum(tf.nn.l2_normalize(a, -1) * tf.nn.l2_normalize(b, -1), -1)
theta = tf.math.acos(cos_sim)  # expect: NS106
phi = tf.asin(tf.clip_by_value(sin_t, -1.0, 1.0))  # expect: NS106
