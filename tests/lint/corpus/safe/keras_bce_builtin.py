import tensorflow as tf
from tensorflow.keras import backend as K


def loss(y_true, y_pred):
    return K.mean(K.binary_crossentropy(y_true, y_pred, from_logits=True))


def weighted_loss(y_true, logits):
    return tf.nn.weighted_cross_entropy_with_logits(y_true, logits, pos_weight=2.0)
