import tensorflow as tf
from tensorflow import keras

opt = tf.keras.optimizers.Adam(learning_rate=1e-3, epsilon=0)  # expect: NS107
opt2 = keras.optimizers.Adagrad(epsilon=0.0)  # expect: NS107
opt3 = tf.train.AdamOptimizer(learning_rate=0.001, epsilon=0.0)  # expect: NS107
