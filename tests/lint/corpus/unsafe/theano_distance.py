import theano.tensor as T

d = T.sqrt(T.sum(T.sqr(x1 - x2), axis=1))  # expect: NS104
