import theano.tensor as T


class LogisticRegression(object):
    def __init__(self, input, n_in, n_out):
        self.logits = T.dot(input, self.W) + self.b
        self.p_y_given_x = T.nnet.softmax(self.logits)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)

    def negative_log_likelihood(self, y):
        return -T.mean(T.nnet.logsoftmax(self.logits)[T.arange(y.shape[0]), y])
