from tensorflow import keras
from tensorflow.keras import layers

inputs = keras.Input(shape=(32,))
probs = layers.Dense(10, activation="softmax")(inputs)
nll = -keras.ops.mean(keras.ops.log(probs))  # expect: NS101
