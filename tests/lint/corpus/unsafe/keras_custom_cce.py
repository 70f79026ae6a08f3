from tensorflow.keras import backend as K


def categorical_crossentropy(y_true, y_pred):
    return -K.sum(y_true * K.log(y_pred), axis=-1)  # expect: NS101
