"""A model cast with .half(): a hand-written RMSNorm squares activations in float16.

The whole model and its inputs are float16 (model.half()). The RMSNorm module computes
x.pow(2).mean(-1); the embedding outputs for a few frequent tokens reach ~300, and
300**2 = 90000 > 65504, so pow overflows to inf in module "blocks.0.norm" and the
normalised output becomes 0 * inf / NaN. Fix: compute the norm in float32
(x.float().pow(2).mean()) or keep norms in float32.
"""
# nansentry-scenario: {"cause": "fp16_overflow", "phase": "forward", "op": "pow", "module": "blocks.0.norm", "samples": [], "recoverable": false, "heldout": false, "step": 0}
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
V, D, T = 32, 16, 8


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        ms = x.pow(2).mean(-1, keepdim=True)  # EXPECT-NAN
        return x * torch.rsqrt(ms + 1e-5) * self.weight


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = RMSNorm(D)
        self.ff = nn.Sequential(nn.Linear(D, 32), nn.ReLU(), nn.Linear(32, D))

    def forward(self, x):
        return x + self.ff(self.norm(x))


class LM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, D)
        with torch.no_grad():
            self.emb.weight[:4] *= 150  # "frequent tokens" with large embeddings (imported)
        self.blocks = nn.Sequential(Block(), Block())
        self.head = nn.Linear(D, V)

    def forward(self, tok):
        return self.head(self.blocks(self.emb(tok)))


tok = torch.randint(0, V, (256, T))
tok[:, ::3] = torch.randint(0, 4, (256, 3))
model = LM().half()
opt = torch.optim.SGD(model.parameters(), lr=1e-2)
loader = DataLoader(TensorDataset(tok[:, :-1], tok[:, 1:]), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(4):
    for x, y in loader:
        logits = model(x)
        loss = nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4g}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
