import tensorflow as tf

entropy = -tf.reduce_sum(tf.where(p > 0, p * tf.math.log(p), tf.zeros_like(p)), axis=-1)  # expect: NS111
