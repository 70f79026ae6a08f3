"""Folk-melody generation with a tiny weight-tied transformer language model.

Model: a 2-layer pre-LayerNorm decoder-only transformer (d_model 64, 4 heads,
nn.MultiheadAttention with a causal attn_mask plus a key_padding_mask for the
right-padded melodies, GELU MLP) over a 30-token vocabulary (PAD, BOS, EOS,
BAR, REST and 25 pitches MIDI 60..84).  The token embedding is tied to the
output projection (head.weight = tok.weight).  Each block is run through
torch.utils.checkpoint.checkpoint(use_reentrant=False) to save activation
memory.  An EMA copy of the weights (torch.optim.swa_utils.AveragedModel,
decay 0.98) is updated after every optimizer step and evaluated at the end.
Trained with next-token cross-entropy (PAD ignored) and SGD with momentum
0.9, batch 32, 200 steps, a 40-step linear warmup to a peak learning rate
of 3.0, then constant.

Data: 1600 synthetic folk-style melodies generated in-script: random-walk
tunes in a random major key built from a repeated 4-note motif shifted per
bar, occasional rests, 3..9 bars each, BOS ... EOS, right-padded to 48
tokens.  The data are clean.

What goes wrong: a peak learning rate of 3.0 is far too high for SGD with
momentum on this model; the tied embedding/output matrix gets a gradient from
both ends of the network, so once the warmup rate passes ~1.0 (around step
12) the updates overshoot with growing amplitude: the loss jumps 3 -> 24 ->
96 -> 3854 -> 1e9 (step 23), the logits overflow and the first NaN loss (and
NaN gradients) appear at step 24, counted from 0.  Every parameter - and the
EMA copy - is NaN from then on and the run never recovers.

--clean: uses a peak learning rate of 0.3 (lr / 10), same warmup and
everything else unchanged; the model then trains to a cross-entropy of ~1.56
(the EMA copy ~1.53), from 3.38 at initialisation.
"""
# recover-heldout: {"category": "learning_rate_too_high", "bad_samples": [], "nan_step": 24}

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.checkpoint import checkpoint
from torch.utils.data import DataLoader, TensorDataset

# Vocabulary: 0 PAD, 1 BOS, 2 EOS, 3 BAR, 4 REST, 5.. pitches (two octaves, MIDI 60..84)
PAD, BOS, EOS, BAR, REST = 0, 1, 2, 3, 4
LOW, HIGH = 60, 84
VOCAB = 5 + (HIGH - LOW + 1)
MAX_LEN = 48
MAJOR = [0, 2, 4, 5, 7, 9, 11]


def make_melodies(n=1600, seed=11):
    """Random-walk melodies in a major key, built from repeated 4-note motifs."""
    g = torch.Generator().manual_seed(seed)
    rows, lens = [], []
    for _ in range(n):
        tonic = 60 + int(torch.randint(0, 8, (1,), generator=g))
        scale = [tonic + o + s for o in (0, 12) for s in MAJOR if tonic + o + s <= HIGH]
        n_bars = int(torch.randint(3, 10, (1,), generator=g))
        motif = [int(torch.randint(0, 5, (1,), generator=g)) for _ in range(4)]
        toks = [BOS]
        deg = int(torch.randint(0, 5, (1,), generator=g))
        for b in range(n_bars):
            shift = int(torch.randint(-2, 3, (1,), generator=g))
            for k in range(4):
                if float(torch.rand(1, generator=g)) < 0.08:
                    toks.append(REST)
                    continue
                d = max(0, min(len(scale) - 1, deg + motif[k] + shift))
                toks.append(5 + scale[d] - LOW)
            deg = max(0, min(len(scale) - 5, deg + shift))
            toks.append(BAR)
        toks = toks[:MAX_LEN - 1] + [EOS]
        lens.append(len(toks))
        rows.append(toks + [PAD] * (MAX_LEN - len(toks)))
    return torch.tensor(rows), torch.tensor(lens)


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x, causal, pad_mask):
        h = self.ln1(x)
        a, _ = self.attn(h, h, h, attn_mask=causal, key_padding_mask=pad_mask, need_weights=False)
        x = x + a
        return x + self.mlp(self.ln2(x))


class MelodyLM(nn.Module):
    def __init__(self, d=64, heads=4, layers=2):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, d)
        self.pos = nn.Parameter(torch.randn(MAX_LEN, d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, VOCAB, bias=False)
        self.head.weight = self.tok.weight          # weight tying
        nn.init.normal_(self.tok.weight, std=0.02)

    def forward(self, toks):
        T = toks.shape[1]
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        pad_mask = toks == PAD
        x = self.tok(toks) + self.pos[:T]
        for blk in self.blocks:
            x = checkpoint(blk, x, causal, pad_mask, use_reentrant=False)
        return self.head(self.ln_f(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="use lr / 10")
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    toks, lens = make_melodies()
    loader = DataLoader(TensorDataset(toks), batch_size=32, shuffle=True, drop_last=True)
    model = MelodyLM()
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.98))

    lr = 3.0   # peak learning rate after warmup
    if args.clean:
        lr = lr / 10
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    warmup = 40
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup))

    losses = []
    step = 0
    while step < args.steps:
        for (xb,) in loader:
            if step >= args.steps:
                break
            inp, tgt = xb[:, :-1], xb[:, 1:]
            logits = model(inp)
            loss = F.cross_entropy(logits.reshape(-1, VOCAB), tgt.reshape(-1), ignore_index=PAD)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            ema.update_parameters(model)
            losses.append(loss.item())
            if step % 10 == 0 or step == args.steps - 1:
                print(f"step {step:4d}  lr {opt.param_groups[0]['lr']:.3f}  loss {loss.item():.4f}")
            step += 1

    with torch.no_grad():
        xb = toks[:256]
        ema_loss = F.cross_entropy(ema(xb[:, :-1]).reshape(-1, VOCAB), xb[:, 1:].reshape(-1), ignore_index=PAD)
    print(f"EMA model loss on 256 melodies: {ema_loss.item():.4f}")
    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
