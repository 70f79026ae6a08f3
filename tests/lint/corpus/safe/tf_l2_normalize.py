import tensorflow as tf

a = tf.nn.l2_normalize(outputs, axis=2)
b = tf.math.l2_normalize(y_emb, axis=2, epsilon=1e-12)
loss = tf.losses.cosine_distance(a, b, axis=1)
unit = v / (tf.norm(v, axis=-1, keepdims=True) + 1e-9)
ratio = tf.math.divide_no_nan(num, den)
