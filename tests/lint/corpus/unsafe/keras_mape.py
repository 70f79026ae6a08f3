from keras import backend as K


def mape(y_true, y_pred):
    return 100.0 * K.mean(K.abs((y_true - y_pred) / y_true))  # expect: NS103
