"""Causal language model on a synthetic bracket/agreement grammar with a deep norm-free transformer.

Model: decoder-only transformer with tied input/output embeddings (vocab 48,
d_model 64, context 32), learned positions, 8 hand-written residual blocks
(4-head causal self-attention with a triangular mask and scaled dot
products, then a ReLU MLP 64->128->64) and NO LayerNorm anywhere (the
"normalisation-free" variant; GPT-2 style N(0, 0.02) init), logits = h @ tok_emb.weight.T.  Loss:
next-token cross-entropy with ignore_index=-100 on the padded tail of short
sentences.  SGD with momentum 0.9 (lr 0.3, weight decay 0 on biases and
1e-4 on matrices, two param groups), constant rate.  Batch 32, 240 steps.

Data: 6000 sentences sampled in-script from a small probabilistic grammar
(subject-verb number agreement, nested brackets, a few determiners/adjectives),
padded to 33 tokens; targets at padded positions are -100.  Clean data.

What goes wrong: without normalisation, the residual stream of the 8 blocks
is multiplied through every layer, so as SGD grows the block weights the
gradient norm grows multiplicatively with depth.  Training is normal at
first (loss 3.87 -> ~1.75 by step 60, gradient norm 0.1 - 2), then the
gradient norm starts to spike (7 at step 66, 22 at step 70, 219 at step 72);
the step-72 update throws the weights out, at step 73 the loss is ~3e10 and
the gradient norm ~4e12, and that update overflows: at step 74 (counted
from 0) the loss and every gradient are NaN and the parameters are NaN from
then on, so the run prints final_loss=nan.

--clean: calls torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
between backward() and optimizer.step(); nothing else changes.  The run
then trains to a mean loss of ~1.38 over the last 20 steps.
"""
# recover-heldout: {"category": "exploding_gradients", "nan_step": 74}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

CTX = 32
N_LAYERS = 8
LR = 0.3

# vocabulary
WORDS = ["<pad>", "<bos>", "<eos>", "(", ")", "the", "a", "every", "big", "small", "red", "old",
         "cat", "dog", "bird", "child", "cats", "dogs", "birds", "children",
         "runs", "sees", "eats", "likes", "run", "see", "eat", "like",
         "and", "that", "who", "quickly", "slowly", ".", "near", "under", "with",
         "fish", "food", "ball", "tree", "house", "it", "them", "today", "now", "here", "there"]
VOCAB = len(WORDS)
W = {w: i for i, w in enumerate(WORDS)}
SG_N = ["cat", "dog", "bird", "child"]
PL_N = ["cats", "dogs", "birds", "children"]
SG_V = ["runs", "sees", "eats", "likes"]
PL_V = ["run", "see", "eat", "like"]
OBJ = ["fish", "food", "ball", "tree", "house", "it", "them"]


def sample_np(g, depth=0):
    def pick(lst):
        return lst[int(torch.randint(0, len(lst), (1,), generator=g))]
    plural = float(torch.rand(1, generator=g)) < 0.5
    toks = [pick(["the", "a", "every"]) if not plural else "the"]
    if float(torch.rand(1, generator=g)) < 0.4:
        toks.append(pick(["big", "small", "red", "old"]))
    toks.append(pick(PL_N if plural else SG_N))
    if depth < 2 and float(torch.rand(1, generator=g)) < 0.3:
        inner, inner_pl = sample_np(g, depth + 1)
        toks += ["(", "that"] + inner + [pick(PL_V if inner_pl else SG_V)] + [")"]
    return toks, plural


def sample_sentence(g):
    def pick(lst):
        return lst[int(torch.randint(0, len(lst), (1,), generator=g))]
    subj, plural = sample_np(g)
    toks = subj + [pick(PL_V if plural else SG_V)]
    if float(torch.rand(1, generator=g)) < 0.7:
        toks.append(pick(OBJ))
    if float(torch.rand(1, generator=g)) < 0.3:
        toks.append(pick(["quickly", "slowly", "today", "now", "here", "there"]))
    toks.append(".")
    return toks


def make_corpus(n=6000, seed=7):
    g = torch.Generator().manual_seed(seed)
    ids = torch.zeros(n, CTX + 1, dtype=torch.long)
    for i in range(n):
        toks = ["<bos>"] + sample_sentence(g) + ["<eos>"]
        toks = toks[:CTX + 1]
        ids[i, :len(toks)] = torch.tensor([W[t] for t in toks])
    inputs = ids[:, :-1].clone()
    targets = ids[:, 1:].clone()
    targets[targets == W["<pad>"]] = -100
    return inputs, targets


class CausalSelfAttention(nn.Module):
    def __init__(self, d, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.register_buffer("causal", torch.tril(torch.ones(CTX, CTX, dtype=torch.bool)))

    def forward(self, x):
        B, T, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=-1)
        q = q.view(B, T, self.n_heads, -1).transpose(1, 2)
        k = k.view(B, T, self.n_heads, -1).transpose(1, 2)
        v = v.view(B, T, self.n_heads, -1).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
        att = att.masked_fill(~self.causal[:T, :T], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, D)
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, d, n_heads):
        super().__init__()
        self.attn = CausalSelfAttention(d, n_heads)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))

    def forward(self, x):
        x = x + self.attn(x)
        return x + self.mlp(x)


class NormFreeLM(nn.Module):
    def __init__(self, d=64, n_heads=4, n_layers=N_LAYERS):
        super().__init__()
        self.tok_emb = nn.Embedding(VOCAB, d)
        self.pos_emb = nn.Parameter(torch.randn(1, CTX, d) * 0.02)
        self.blocks = nn.ModuleList([Block(d, n_heads) for _ in range(n_layers)])
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):                           # GPT-2 style init
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, idx):
        h = self.tok_emb(idx) + self.pos_emb[:, :idx.shape[1]]
        for blk in self.blocks:
            h = blk(h)
        return h @ self.tok_emb.weight.t()          # tied output projection


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="clip the gradient norm to 1.0")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    inputs, targets = make_corpus()
    model = NormFreeLM()
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 1e-4},
                           {"params": no_decay, "weight_decay": 0.0}], lr=LR, momentum=0.9)

    g = torch.Generator().manual_seed(1)
    losses = []
    total_steps, batch = 240, 32
    for step in range(total_steps):
        idx = torch.randint(0, inputs.shape[0], (batch,), generator=g)
        logits = model(inputs[idx])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets[idx].reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.clean:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % 20 == 0 or step == total_steps - 1:
            print(f"step {step:4d}  loss {loss.item():.4f}")

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
