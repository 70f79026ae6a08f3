from tensorflow import keras
from tensorflow.keras.layers import GRU, LSTM, Dense, SimpleRNN

model = keras.Sequential([
    LSTM(128, return_sequences=True),
    GRU(64, activation="tanh"),
    SimpleRNN(32),
    Dense(64, activation="relu"),
    Dense(1, activation="sigmoid"),
])
cell = tf.contrib.rnn.LSTMCell(400, activation=tf.nn.tanh)
