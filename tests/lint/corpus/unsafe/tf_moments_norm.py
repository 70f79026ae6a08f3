import tensorflow as tf

mean, variance = tf.nn.moments(x, axes=[0])
x_hat = (x - mean) / tf.sqrt(variance)  # expect: NS103, NS104
