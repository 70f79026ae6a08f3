import tensorflow as tf

pred = tf.nn.softmax(logits)
loss = -tf.reduce_mean(tf.reduce_sum(labels * tf.math.log(tf.maximum(pred, 1e-10)), axis=1))  # expect: NS102
