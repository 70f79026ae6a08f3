"""Healthy: a small transformer with -inf key-padding masks, dict batches and dict outputs.

Batches are dicts with int64 tokens, a bool padding mask and an int label; attention uses
scores.masked_fill(pad, float("-inf")) before softmax, and every sequence keeps at least
one real token (a CLS token at position 0), so no row is fully masked and everything stays
finite. Also: gradient accumulation over 2 micro-batches, clip_grad_norm_, a cosine LR
scheduler with warmup, AdamW, an eval phase under torch.no_grad(). The -inf values are
intentional masks and must not be reported.
"""
# nansentry-scenario: {"cause": "healthy", "phase": null, "op": null, "module": null, "samples": [], "recoverable": false, "heldout": false, "step": null}
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
V, T, D = 30, 12, 32


class Seqs(Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.tok = torch.randint(2, V, (n, T), generator=g)
        self.tok[:, 0] = 1  # CLS: always visible
        self.len = torch.randint(3, T + 1, (n,), generator=g)
        self.pad = torch.arange(T)[None] >= self.len[:, None]
        self.tok[self.pad] = 0
        self.label = ((self.tok == 5) | (self.tok == 6)).sum(1).clamp(max=2)

    def __len__(self):
        return len(self.tok)

    def __getitem__(self, i):
        return {"tokens": self.tok[i], "pad": self.pad[i], "label": self.label[i]}


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv, self.out = nn.Linear(D, 3 * D), nn.Linear(D, D)

    def forward(self, x, pad):
        q, k, v = self.qkv(x).chunk(3, -1)
        s = q @ k.transpose(1, 2) / math.sqrt(D)
        s = s.masked_fill(pad[:, None, :], float("-inf"))
        return self.out(F.softmax(s, -1) @ v)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn, self.ln1, self.ln2 = Attention(), nn.LayerNorm(D), nn.LayerNorm(D)
        self.mlp = nn.Sequential(nn.Linear(D, 64), nn.GELU(), nn.Linear(64, D))

    def forward(self, x, pad):
        x = x + self.attn(self.ln1(x), pad)
        return x + self.mlp(self.ln2(x))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.pos = nn.Embedding(V, D), nn.Parameter(torch.randn(T, D) * 0.02)
        self.body = nn.ModuleList([Layer(), Layer()])
        self.head = nn.Linear(D, 3)

    def forward(self, tokens, pad):
        x = self.emb(tokens) + self.pos
        for layer in self.body:
            x = layer(x, pad)
        return {"logits": self.head(x[:, 0]), "cls": x[:, 0]}


model = Encoder()
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
train = DataLoader(Seqs(384, 1), batch_size=16, shuffle=True)
val = DataLoader(Seqs(96, 2), batch_size=48)
accum, total_steps = 2, 3 * len(train) // 2
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: min(1.0, (s + 1) / 5) * 0.5 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps)))
losses, step = [], 0
for epoch in range(3):
    model.train()
    for i, batch in enumerate(train):
        out = model(batch["tokens"], batch["pad"])
        loss = F.cross_entropy(out["logits"], batch["label"])
        (loss / accum).backward()
        losses.append(loss.item())
        if (i + 1) % accum == 0:
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            if step % 8 == 0:
                print(f"step {step} loss {loss.item():.4f} lr {sched.get_last_lr()[0]:.2e}")
            step += 1
    model.eval()
    with torch.no_grad():
        acc = sum((model(b["tokens"], b["pad"])["logits"].argmax(1) == b["label"]).sum().item() for b in val)
    print(f"epoch {epoch} val_acc {acc / 96:.3f}")
print(f"final_loss={sum(losses[-10:]) / 10}")
