import tensorflow as tf

shifted = scores - tf.reduce_max(scores, axis=-1, keepdims=True)
exp_scores = tf.exp(shifted)
attn = exp_scores / tf.reduce_sum(exp_scores, axis=-1, keepdims=True)
lse = tf.reduce_logsumexp(logits, axis=-1)
