import torch
from torch import optim

opt = optim.Adam(model.parameters(), lr=1e-3, eps=0)  # expect: NS107
opt2 = torch.optim.AdamW(model.parameters(), 3e-4, (0.9, 0.999), 0.0)  # expect: NS107
opt3 = torch.optim.RMSprop(model.parameters(), lr=1e-2, eps=0.0)  # expect: NS107
