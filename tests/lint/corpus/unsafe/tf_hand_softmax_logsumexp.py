import tensorflow as tf

exp_scores = tf.exp(scores / temperature)
attn = exp_scores / tf.reduce_sum(exp_scores, axis=-1, keepdims=True)  # expect: NS105
lse = tf.math.log(tf.reduce_sum(tf.exp(logits), axis=-1))  # expect: NS105
