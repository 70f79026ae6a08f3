import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(input_size=32, hidden_size=64, nonlinearity="relu", batch_first=True)  # expect: NS109
        self.cell = nn.RNNCell(32, 64, nonlinearity="relu")  # expect: NS109
