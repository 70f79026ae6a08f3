"""Seed 003: clipping the log's input, a fake loss with a dead gradient."""
import tensorflow as tf

y = tf.nn.softmax(logits)
loss = tf.log(tf.clip_by_value(y, 1e-8, 1.0))  # expect: NS102
loss2 = tf.log(tf.clip_by_value(y, 1e-8, tf.reduce_max(y)))  # expect: NS102
