import torch
from torch import optim

opt = optim.Adam(model.parameters(), lr=1e-3)
opt2 = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
opt3 = optim.RMSprop(model.parameters(), lr=1e-2, alpha=0.99)
opt4 = optim.SGD(model.parameters(), lr=0.1, momentum=0.0, weight_decay=0)
opt5 = optim.Adagrad(model.parameters(), lr=1e-2, lr_decay=0, weight_decay=0)
