"""Three-way review sentiment classifier with a small Transformer encoder and mean pooling.

Model: token embedding (vocab 400, d_model 64) + learned positions, a [CLS]
token prepended to every review, a 2-layer nn.TransformerEncoder (4 heads,
pre-LN, dropout 0.1) run with src_key_padding_mask, then sentence-embedding
style masked mean pooling over the review tokens (the [CLS] slot and the
padding are excluded from the mean) and a linear classifier (negative /
neutral / positive).  The forward pass runs under bf16 autocast on CPU.
AdamW (lr 1e-3) with two parameter groups (weight decay 0.01 on weight
matrices, none on biases, LayerNorm weights and embeddings), cosine schedule
with 15 warmup steps through LambdaLR, gradient accumulation over 2
micro-batches of 16 reviews.  200 optimizer steps.

Data: 3000 synthetic reviews generated in-script from a vocabulary with
positive, negative and neutral words; the label is the sentiment the
review was drawn with (it sets the rates of positive and negative words).  A map-style Dataset returns variable-length
token lists and a collate function pads each micro-batch with id 0.  The
preprocessing stripped URLs, emoji and markup, so a few reviews consisting
only of such content are legitimately empty (zero tokens, labelled
neutral): dataset indices 488, 1290, 2207 and 2766.

What goes wrong: the masked mean pooling divides the summed token states by
the number of review tokens, which is 0 for an empty review, so its pooled
vector is 0/0 = NaN.  Training is normal (loss ~1.09 -> ~1.05) until the first
micro-batch holding an empty review: that is in optimizer step 37 (counted
from 0; micro-batch 74, dataset index 2207).  Its loss is NaN, the
accumulated gradients are NaN and the AdamW step writes NaN into all
parameters; every later loss is NaN and the run prints final_loss=nan.

--clean: the pooling clamps the token count with .clamp(min=1e-9) before
dividing (the sentence-transformers recipe), so an empty review pools to a
zero vector; nothing else changes.  The run then trains to a mean loss of
~0.45 over the last 20 steps (from 1.09 at initialisation).
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [488, 1290, 2207, 2766], "nan_step": 37}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

VOCAB = 400
PAD, CLS = 0, 1
POS_WORDS = list(range(10, 40))
NEG_WORDS = list(range(40, 70))
NEUTRAL_WORDS = list(range(70, VOCAB))
EMPTY_REVIEWS = (488, 1290, 2207, 2766)


def make_reviews(n=3000, seed=3):
    g = torch.Generator().manual_seed(seed)
    docs, labels = [], []
    for i in range(n):
        if i in EMPTY_REVIEWS:          # only URLs / emoji before preprocessing
            docs.append([])
            labels.append(1)
            continue
        length = int(torch.randint(6, 40, (1,), generator=g))
        sentiment = int(torch.randint(0, 3, (1,), generator=g))
        p_pos = {0: 0.03, 1: 0.10, 2: 0.35}[sentiment]
        p_neg = {0: 0.35, 1: 0.10, 2: 0.03}[sentiment]
        toks = []
        for _ in range(length):
            r = float(torch.rand(1, generator=g))
            if r < p_pos:
                pool = POS_WORDS
            elif r < p_pos + p_neg:
                pool = NEG_WORDS
            else:
                pool = NEUTRAL_WORDS
            toks.append(pool[int(torch.randint(0, len(pool), (1,), generator=g))])
        docs.append(toks)
        labels.append(sentiment)
    return docs, labels


class ReviewDataset(Dataset):
    def __init__(self, docs, labels):
        self.docs, self.labels = docs, labels

    def __len__(self):
        return len(self.docs)

    def __getitem__(self, i):
        return torch.tensor(self.docs[i], dtype=torch.long), self.labels[i]


def collate(batch):
    max_len = max(len(t) for t, _ in batch) + 1
    ids = torch.full((len(batch), max_len), PAD, dtype=torch.long)
    for j, (t, _) in enumerate(batch):
        ids[j, 0] = CLS
        ids[j, 1:1 + len(t)] = t
    labels = torch.tensor([y for _, y in batch])
    return ids, labels


class ReviewClassifier(nn.Module):
    def __init__(self, d_model=64, n_heads=4, n_layers=2, max_len=64, safe_pool=False):
        super().__init__()
        self.safe_pool = safe_pool
        self.tok = nn.Embedding(VOCAB, d_model, padding_idx=PAD)
        self.pos = nn.Embedding(max_len, d_model)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward=128, dropout=0.1,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.cls_head = nn.Linear(d_model, 3)

    def forward(self, ids):
        pad_mask = ids == PAD
        pos = torch.arange(ids.shape[1], device=ids.device)
        h = self.tok(ids) + self.pos(pos)
        h = self.norm(self.encoder(h, src_key_padding_mask=pad_mask)).float()
        # mean over review tokens only ([CLS] and padding excluded)
        tok_mask = (~pad_mask).clone()
        tok_mask[:, 0] = False
        m = tok_mask.unsqueeze(-1).float()
        summed = (h * m).sum(dim=1)
        count = m.sum(dim=1)
        if self.safe_pool:
            count = count.clamp(min=1e-9)
        pooled = summed / count
        return self.cls_head(pooled)


def param_groups(model, wd):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.ndim < 2 or "norm" in name or isinstance(getattr_path(model, name), nn.Embedding):
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def getattr_path(model, name):
    mod = model
    for part in name.split(".")[:-1]:
        mod = getattr(mod, part)
    return mod


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true",
                    help="clamp the token count in the mean pooling")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    docs, labels = make_reviews()
    loader = DataLoader(ReviewDataset(docs, labels), batch_size=16, shuffle=True, drop_last=True,
                        collate_fn=collate, generator=torch.Generator().manual_seed(2))
    model = ReviewClassifier(safe_pool=args.clean)
    opt = torch.optim.AdamW(param_groups(model, 0.01), lr=1e-3)
    total_steps, warmup, accum = 200, 15, 2

    def lr_lambda(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)

    losses = []
    step, micro, running = 0, 0, 0.0
    model.train()
    opt.zero_grad(set_to_none=True)
    while step < total_steps:
        for ids, y in loader:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = model(ids)
            loss = F.cross_entropy(logits.float(), y) / accum
            loss.backward()
            running += loss.item()
            micro += 1
            if micro % accum == 0:
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
                losses.append(running)
                if step % 20 == 0 or step == total_steps - 1:
                    print(f"step {step:4d}  loss {running:.4f}  lr {sched.get_last_lr()[0]:.2e}")
                running = 0.0
                step += 1
                if step >= total_steps:
                    break

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
