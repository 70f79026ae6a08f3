import jax
import tensorflow as tf
import torch
import torch.nn.functional as F
from tensorflow import keras
from tensorflow.keras import backend as K

s2 = torch.log_softmax(x, -1)
s7 = tf.math.log_sigmoid(x)
s9 = F.nll_loss(F.log_softmax(x, 1), y)
s10 = tf.keras.losses.CategoricalCrossentropy(from_logits=True)(y, logits)
s12 = torch.log1p(torch.exp(x))
s14 = torch.log(1 + x ** 2)
s21 = K.l2_normalize(x, axis=-1)
s27 = x / tf.maximum(tf.norm(x, axis=-1, keepdims=True), 1e-12)
s28 = total / count
s30 = loss / len(batch)
s32 = tf.sqrt(tf.reduce_sum(tf.square(a - b), -1) + K.epsilon())
s35 = torch.sqrt(torch.clamp((a - b).pow(2).sum(1), min=1e-12))
s38 = torch.exp(x - torch.logsumexp(x, -1, keepdim=True))
s45 = np.arccos(np.clip(c, -1, 1))
s49 = keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=False)
s52 = tf.nn.softmax(scores + (1.0 - mask) * -1e9)
s55 = keras.layers.LSTM(64, activation="tanh", recurrent_activation="sigmoid")
s58 = tf.keras.layers.Conv2D(32, 3, activation="relu")
s61 = torch.where(d > 0, n / d.clamp_min(1e-12), 0.0)
s62 = tf.where(x > 0, tf.sqrt(tf.maximum(x, 1e-12)), 0.0)
s64 = 1 - F.cosine_similarity(a, b)
