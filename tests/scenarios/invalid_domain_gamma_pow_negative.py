"""An image decoder with a learnable 'gamma correction' layer: x ** (1/2.2).

The decoder's last module raises its input to a fractional power. The input is the output
of a Linear layer, which can be negative; a negative base to a fractional power is NaN
(forward, module "decoder.gamma", op pow). Fix: clamp(min=eps) or apply gamma to a
sigmoid output.
"""
# nansentry-scenario: {"cause": "invalid_domain", "phase": "forward", "op": "pow", "module": "decoder.gamma", "samples": [], "recoverable": false, "heldout": false, "step": 3}
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


class Gamma(nn.Module):
    def __init__(self, gamma=2.2):
        super().__init__()
        self.inv = 1.0 / gamma

    def forward(self, x):
        return x ** self.inv  # EXPECT-NAN


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU())
        self.decoder = nn.Sequential()
        self.decoder.add_module("fc", nn.Linear(16, 64))
        self.decoder.add_module("gamma", Gamma())

    def forward(self, x):
        return self.decoder(self.encoder(x)).view(-1, 1, 8, 8)


imgs = torch.rand(256, 1, 8, 8) ** 2.2
model = AutoEncoder()
with torch.no_grad():
    model.decoder.fc.bias.fill_(0.5)
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
loader = DataLoader(TensorDataset(imgs), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(5):
    for (x,) in loader:
        loss = nn.functional.mse_loss(model(x), x ** (1 / 2.2))
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
