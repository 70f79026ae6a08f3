import tensorflow as tf

prob = tf.nn.sigmoid(tf.matmul(h, w) + b)
log_likelihood = tf.reduce_sum(y * tf.log(prob) + (1 - y) * tf.log(1 - prob))  # expect: NS101, NS101
