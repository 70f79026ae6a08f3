"""A tiny transformer whose key-padding mask fully masks an empty sequence.

Self-attention is written by hand: scores.masked_fill(pad_mask, -inf) then softmax. The
-inf mask itself is intentional and fine as long as every query row keeps one visible key.
Dataset index 58 is an empty document (length 0: every position is padding), so its rows
are all -inf and softmax computes 0/0 = NaN inside module "body.0.attn" (the first layer) (op _softmax).
Fix: drop empty sequences or keep one always-visible token (CLS) / use a finite mask value.
--clean fixes the code: a row with no visible key is left unmasked.
"""
# nansentry-scenario: {"cause": "division_by_zero", "phase": "forward", "op": "_softmax", "module": "body.0.attn", "samples": [58], "recoverable": true, "heldout": false, "step": 4}
import argparse
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="never mask a whole row")
args = parser.parse_args()
torch.manual_seed(0)
VOCAB, LENGTH, D = 40, 12, 32


class Docs(Dataset):
    def __init__(self, n=256):
        self.tok = torch.randint(1, VOCAB, (n, LENGTH))
        self.len = torch.randint(2, LENGTH + 1, (n,))
        self.len[58] = 0  # an empty document slipped through
        self.tok[torch.arange(LENGTH)[None] >= self.len[:, None]] = 0
        self.y = (self.tok == 7).any(1).long()

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.tok[i], self.len[i], self.y[i]


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(D, 3 * D)
        self.out = nn.Linear(D, D)

    def forward(self, x, pad):
        q, k, v = self.qkv(x).chunk(3, -1)
        scores = q @ k.transpose(1, 2) / math.sqrt(D)
        scores = scores.masked_fill(pad[:, None, :], float("-inf"))
        return self.out(F.softmax(scores, -1) @ v)  # EXPECT-NAN


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = Attention()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.mlp = nn.Sequential(nn.Linear(D, 64), nn.GELU(), nn.Linear(64, D))

    def forward(self, x, pad):
        x = x + self.attn(self.ln1(x), pad)
        return x + self.mlp(self.ln2(x))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, D)
        self.pos = nn.Parameter(torch.randn(LENGTH, D) * 0.02)
        self.body = nn.ModuleList([Layer(), Layer()])
        self.head = nn.Linear(D, 2)

    def forward(self, tok, length):
        pad = torch.arange(LENGTH)[None] >= length[:, None]
        if args.clean:
            pad = pad & (length[:, None] > 0)
        x = self.emb(tok) + self.pos
        for layer in self.body:
            x = layer(x, pad)
        return self.head(x.mean(1))


model = Encoder()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
loader = DataLoader(Docs(), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(3):
    for tok, length, y in loader:
        loss = F.cross_entropy(model(tok, length), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
