"""Hand-written Elman loop (nn.RNNCell, ReLU) tracking an oscillator's phase; unroll grows.

The unroll length grows with the step (T = 6 + 3 * step, a common "start short" trick),
the recurrent weights were initialised at 1.5 * I, and the loss is the bounded phase
error 1 - cos(pred - phase), so the loss stays below 2 while the gradient norm, multiplied
by the recurrent gain at every unrolled step, climbs by orders of magnitude step after step
until a gradient-driven update overflows the state. No DataLoader: tensors sliced by hand.
Fix: clip_grad_norm_ (--clean clips at 0.5 with identity init).
"""
# nansentry-scenario: {"cause": "exploding_gradients", "phase": "forward", "op": "addmm", "module": "cell", "samples": [], "recoverable": true, "heldout": false, "step": 7}
import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="clip gradients, identity init")
args = parser.parse_args()
torch.manual_seed(0)


class PhaseTracker(nn.Module):
    def __init__(self, d=24):
        super().__init__()
        self.cell = nn.RNNCell(2, d, nonlinearity="relu")
        with torch.no_grad():
            self.cell.weight_hh.copy_(torch.eye(d) * (1.0 if args.clean else 1.5))
        self.out = nn.Linear(d, 1)

    def forward(self, x):
        h = x.new_zeros(x.shape[0], self.cell.hidden_size)
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)  # EXPECT-NAN
        return self.out(h).squeeze(1)


freq = 0.2 + 0.3 * torch.rand(512, 1)
phase0 = 6.28 * torch.rand(512, 1)
model = PhaseTracker()
opt = torch.optim.SGD(model.parameters(), lr=3e-4)
losses = []
for step in range(20):
    T = 6 + 3 * step
    idx = torch.randint(0, 512, (16,))
    t = torch.arange(T)[None].float()
    theta = phase0[idx] + freq[idx] * t
    x = 0.05 * torch.stack([torch.cos(theta), torch.sin(theta)], -1).abs()
    target = (theta[:, -1] + freq[idx, 0]) % 6.283
    loss = (1 - torch.cos(model(x) - target)).mean()
    loss.backward()
    if args.clean:
        nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    opt.step()
    opt.zero_grad()
    losses.append(loss.item())
    if step % 5 == 0:
        print(f"step {step} T {T} loss {loss.item():.4f}")
print(f"final_loss={sum(losses[-10:]) / 10}")
