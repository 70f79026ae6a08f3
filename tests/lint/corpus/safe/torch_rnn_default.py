import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(32, 64, nonlinearity="tanh", batch_first=True)
        self.lstm = nn.LSTM(64, 128, num_layers=2)
        self.head = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 1))
