from tensorflow import keras
from tensorflow.keras.layers import GRU, LSTM, SimpleRNN

model = keras.Sequential([
    LSTM(128, activation="relu", return_sequences=True),  # expect: NS109
    SimpleRNN(64, activation="relu"),  # expect: NS109
    keras.layers.Dense(1),
])
gru = GRU(32, recurrent_activation="relu")  # expect: NS109
