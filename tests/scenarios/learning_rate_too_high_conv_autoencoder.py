"""A convolutional denoising autoencoder with momentum SGD at lr=1.0.

Images in [0, 1], a sensible architecture and init; only the step size is wrong: with
momentum 0.9 the effective step is 10x lr, the reconstruction loss oscillates with growing
amplitude and the weights grow step after step until the
last decoder conv overflows (forward, module "dec.2").
Stable with lr/100 (--clean).
"""
# nansentry-scenario: {"cause": "learning_rate_too_high", "phase": "forward", "op": ["convolution", "mkldnn_convolution"], "module": "dec.2", "samples": [], "recoverable": true, "heldout": false, "step": 9}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="use lr / 100")
args = parser.parse_args()
torch.manual_seed(0)
yy, xx = torch.meshgrid(torch.linspace(-1, 1, 12), torch.linspace(-1, 1, 12), indexing="ij")
cx, cy, r = torch.rand(3, 192, 1, 1)
clean_img = (((xx - cx + 0.5) ** 2 + (yy - cy + 0.5) ** 2) < (0.2 + 0.5 * r) ** 2).float().unsqueeze(1)
noisy = clean_img + 0.2 * torch.randn_like(clean_img)


class AE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(8, 8, 3, padding=1), nn.LeakyReLU(0.2))
        self.dec = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(8, 1, 3, padding=1))

    def forward(self, x):
        return self.dec(self.enc(x))  # EXPECT-NAN


model = AE()
opt = torch.optim.SGD(model.parameters(), lr=0.01 if args.clean else 1.0, momentum=0.9)
loader = DataLoader(TensorDataset(noisy, clean_img), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(3):
    for xb, yb in loader:
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4g}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
