import tensorflow as tf

mean, variance = tf.nn.moments(x, axes=[0])
x_hat = (x - mean) / tf.sqrt(variance + 1e-3)
y = tf.nn.batch_normalization(x, mean, variance, offset, scale, variance_epsilon=1e-3)
