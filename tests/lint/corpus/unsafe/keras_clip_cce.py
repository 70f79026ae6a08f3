from keras import backend as K


def weighted_cce(weights):
    def loss(y_true, y_pred):
        y_pred = K.clip(y_pred, K.epsilon(), 1 - K.epsilon())
        return -K.sum(y_true * K.log(y_pred) * weights, axis=-1)  # expect: NS102
    return loss
