"""Star-rating classification of short product reviews with a masked mean-pooling encoder.

Model: a bag-of-embeddings classifier: nn.Embedding (tiny 40-word vocabulary
+ padding id 0, dim 32) -> masked mean pooling over the review's tokens
(sum of the token embeddings divided by the review length) -> MLP
(32 -> 64 -> 5) -> logits over 1..5 stars.  Cross-entropy loss, Adam
(lr 3e-3), batch 32, 300 optimizer steps.

Data: 2000 synthetic product reviews generated in-script.  Each raw review is
a string mixing sentiment words, neutral product words, punctuation, emoji
and brand names; it is tokenised once (lower-case, strip punctuation, keep
in-vocabulary words), so the token sequences have variable length (1 to ~30
tokens).  The map-style Dataset's __getitem__ returns a dict with the review
id (a string such as "R-000123"), the token list (a list of strings), the
star rating (a Python int) and the helpful-vote count (a Python int).  A
length-bucketing batch sampler (passed as DataLoader(batch_sampler=...))
sorts the reviews by length with a little jitter, cuts them into batches of
32 and shuffles the batch order every epoch; a custom collate_fn maps the
tokens to ids, pads each batch to its longest review and returns a
`ReviewBatch` namedtuple.

What goes wrong: five reviews (dataset indices 268, 731, 1090, 1544, 1873)
consist only of emoji / punctuation / "meh..."-style text that the tokenizer
drops completely, so their token list is empty and their length is 0.  The
values are all finite, but the mean pooling divides a zero sum by a zero
length: 0 / 0 = NaN.  The length bucketing puts all five into the shortest
bucket, so they arrive together in one batch; that batch's loss is NaN,
backward fills every gradient with NaN and Adam writes NaN into every weight,
after which every loss is NaN.  Without --clean this happens at step 8
(steps counted from 0), the position of the shortest bucket in the first
epoch's shuffled batch order.

--clean: the pooling divides by the length clamped to at least 1
(lengths.clamp(min=1)), so an empty review pools to the zero vector and is
classified from the bias alone.  Data, sampler, seed, optimizer and number
of steps are unchanged, and the run trains to a sensible loss.
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [268, 731, 1090, 1544, 1873], "nan_step": 8}

import argparse
import re
from collections import namedtuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Sampler

N_REVIEWS = 2000
EMPTY_REVIEWS = (268, 731, 1090, 1544, 1873)

# word -> polarity (-2 .. +2); polarity 0 words are neutral product words.
LEXICON = {
    "great": 2, "love": 2, "excellent": 2, "perfect": 2, "amazing": 2,
    "good": 1, "nice": 1, "works": 1, "solid": 1, "recommend": 1, "fast": 1,
    "ok": 0, "fine": 0, "average": 0, "decent": 0,
    "bad": -1, "slow": -1, "cheap": -1, "flimsy": -1, "returned": -1, "disappointed": -1,
    "terrible": -2, "broke": -2, "awful": -2, "useless": -2, "waste": -2, "refund": -2,
    "battery": 0, "charger": 0, "cable": 0, "case": 0, "screen": 0, "sound": 0,
    "price": 0, "delivery": 0, "size": 0, "color": 0, "box": 0, "quality": 0, "product": 0,
}
VOCAB = {w: i + 1 for i, w in enumerate(LEXICON)}   # 0 is the padding id
NOISE_TOKENS = ["!!", "...", ":)", "\U0001F44D", "\U0001F621", "Ankor", "Zyphon", "lol", "meh", "#1"]
EMPTY_TEXTS = ["\U0001F44D\U0001F44D\U0001F44D", "meh...", "!!!!!!", ":( :( :(", "lol \U0001F621"]

ReviewBatch = namedtuple("ReviewBatch", ["token_ids", "lengths", "stars", "review_ids"])


def tokenize(text):
    words = re.sub(r"[^a-z ]", " ", text.lower()).split()
    return [w for w in words if w in VOCAB]


def generate_reviews(seed=0):
    g = torch.Generator().manual_seed(seed)
    words = list(LEXICON)
    polarity = torch.tensor([float(LEXICON[w]) for w in words])
    texts, stars, helpful = [], [], []
    for i in range(N_REVIEWS):
        s = int(torch.multinomial(torch.tensor([0.12, 0.1, 0.16, 0.27, 0.35]), 1, generator=g)) + 1
        n_words = int(torch.randint(1, 4, (1,), generator=g)) if torch.rand(1, generator=g) < 0.25 \
            else int(torch.randint(4, 30, (1,), generator=g))
        w = torch.exp(0.9 * polarity * (s - 3)) + (polarity == 0).float() * 1.5
        picks = torch.multinomial(w, n_words, replacement=True, generator=g)
        toks = [words[int(k)] for k in picks]
        n_noise = int(torch.randint(0, 4, (1,), generator=g))
        for _ in range(n_noise):
            pos = int(torch.randint(0, len(toks) + 1, (1,), generator=g))
            toks.insert(pos, NOISE_TOKENS[int(torch.randint(0, len(NOISE_TOKENS), (1,), generator=g))])
        text = " ".join(toks)
        if torch.rand(1, generator=g) < 0.5:
            text = text.capitalize() + "."
        texts.append(text)
        stars.append(s)
        helpful.append(int(torch.poisson(torch.tensor(2.0), generator=g)))
    for k, i in enumerate(EMPTY_REVIEWS):
        texts[i] = EMPTY_TEXTS[k]   # nothing left after tokenisation
    return texts, stars, helpful


class ReviewDataset(Dataset):
    def __init__(self, seed=0):
        self.texts, self.stars, self.helpful = generate_reviews(seed)
        self.tokens = [tokenize(t) for t in self.texts]
        self.lengths = [len(t) for t in self.tokens]

    def __len__(self):
        return len(self.texts)

    def __getitem__(self, i):
        return {
            "review_id": f"R-{i:06d}",
            "tokens": self.tokens[i],
            "stars": self.stars[i],
            "helpful_votes": self.helpful[i],
        }


class LengthBucketBatchSampler(Sampler):
    """Batches of similar-length reviews; batch order reshuffled every epoch."""

    def __init__(self, lengths, batch_size, seed=0):
        self.lengths = torch.tensor(lengths, dtype=torch.float32)
        self.batch_size = batch_size
        self.g = torch.Generator().manual_seed(seed)

    def __iter__(self):
        jitter = torch.rand(len(self.lengths), generator=self.g) * 0.9
        order = torch.argsort(self.lengths + jitter).tolist()
        batches = [order[k:k + self.batch_size] for k in range(0, len(order), self.batch_size)]
        for b in torch.randperm(len(batches), generator=self.g).tolist():
            yield batches[b]

    def __len__(self):
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size


def collate_reviews(items):
    max_len = max(1, max(len(it["tokens"]) for it in items))
    ids = torch.zeros(len(items), max_len, dtype=torch.long)
    for r, it in enumerate(items):
        for c, w in enumerate(it["tokens"]):
            ids[r, c] = VOCAB[w]
    return ReviewBatch(
        token_ids=ids,
        lengths=torch.tensor([len(it["tokens"]) for it in items], dtype=torch.float32),
        stars=torch.tensor([it["stars"] - 1 for it in items], dtype=torch.long),
        review_ids=[it["review_id"] for it in items],
    )


class MeanPoolClassifier(nn.Module):
    def __init__(self, vocab_size=len(VOCAB) + 1, dim=32, safe_pool=False):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.mlp = nn.Sequential(nn.Linear(dim, 64), nn.ReLU(), nn.Linear(64, 5))
        self.safe_pool = safe_pool

    def forward(self, token_ids, lengths):
        mask = (token_ids != 0).unsqueeze(-1).float()
        summed = (self.emb(token_ids) * mask).sum(dim=1)
        denom = lengths.clamp(min=1.0) if self.safe_pool else lengths
        pooled = summed / denom.unsqueeze(1)
        return self.mlp(pooled)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true",
                    help="clamp the pooling denominator so empty reviews are safe")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(31)

    ds = ReviewDataset(seed=4)
    sampler = LengthBucketBatchSampler(ds.lengths, batch_size=32, seed=8)
    loader = DataLoader(ds, batch_sampler=sampler, collate_fn=collate_reviews)

    model = MeanPoolClassifier(safe_pool=args.clean)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    losses = []
    step = 0
    epoch = 0
    while step < args.steps:
        epoch += 1
        for batch in loader:
            if step >= args.steps:
                break
            logits = model(batch.token_ids, batch.lengths)
            loss = F.cross_entropy(logits, batch.stars)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 25 == 0:
                print(f"epoch {epoch} step {step:4d} loss {loss.item():.4f}")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
