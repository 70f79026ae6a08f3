"""Mean-pooled word-embedding classifier for support tickets -- nan at step 28.

Model: tickets are lower-cased, split into words, stop-words and punctuation
are removed, and the remaining words are mapped to ids.  A collate_fn pads
each batch and returns a dict {"input_ids", "attention_mask", "labels"}.  The
model embeds the ids, averages the embeddings over the real tokens with a
hand-written masked mean

    pooled = (emb * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)

and classifies the ticket into one of 4 queues with a small MLP.  Adam
(lr 2e-3), DataLoader(batch_size=16, shuffle=True), gradient accumulation
over 2 micro-batches (effective batch 32), 4 epochs = 176 optimizer steps.
The loss recorded per optimizer step is the mean of its 2 micro-batch losses.

What goes wrong: a few tickets are perfectly valid but contain nothing except
stop-words / punctuation ("hi ??", "thanks!!", "ok"): dataset indices 122, 605, 893 and 1222.
After preprocessing their token list is empty, so their attention_mask row is
all zeros and the masked mean computes 0 / 0 = nan for that ticket.  The
first time the shuffled loader puts one of them into a batch (optimizer step
28, index 122, epoch 0) the batch loss is nan, Adam turns every weight into nan, and the loss is
nan for the rest of training.

--clean: the user fixes the pooling to divide by
`mask.sum(1, keepdim=True).clamp_min(1)` (an empty ticket is pooled to the
zero vector); ALL the data, including the empty tickets, are kept.
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [122, 605, 893, 1222], "nan_step": 28}

import argparse
import re

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

QUEUES = ["billing", "bug", "account", "shipping"]
TOPIC_WORDS = {
    "billing": "invoice charge refund payment card charged twice subscription price plan receipt vat".split(),
    "bug": "crash error app freezes button broken screen update loading fails login page blank".split(),
    "account": "password reset email username locked verify profile delete account settings two-factor".split(),
    "shipping": "package delivery tracking courier arrived late address parcel shipped damaged warehouse".split(),
}
COMMON = "please help need asap order yesterday today still again since week customer support issue problem".split()
STOPWORDS = set("hi hello hey thanks thank you ok okay the a an is it my i me to and of for on in was this that any ?? !! yes no".split())
EMPTY_TICKETS = ["hi ??", "thanks!!", "ok", "hello?", "yes thank you"]
BAD_IDX = [122, 605, 893, 1222]


def make_tickets(n, gen):
    texts, labels = [], []
    n_empty = 0
    for i in range(n):
        q = int(torch.randint(0, 4, (1,), generator=gen))
        n_words = int(torch.randint(3, 14, (1,), generator=gen))
        words = []
        for k in range(n_words):
            r = float(torch.rand(1, generator=gen))
            if k == 0 or r < 0.45:
                pool = TOPIC_WORDS[QUEUES[q]]
            elif r < 0.7:
                pool = COMMON
            elif r < 0.85:
                pool = TOPIC_WORDS[QUEUES[int(torch.randint(0, 4, (1,), generator=gen))]]
            else:
                pool = sorted(STOPWORDS)
            words.append(pool[int(torch.randint(0, len(pool), (1,), generator=gen))])
        text = " ".join(words)
        if i in BAD_IDX:  # real tickets that only say hello / thanks
            text = EMPTY_TICKETS[n_empty % len(EMPTY_TICKETS)]
            n_empty += 1
        if float(torch.rand(1, generator=gen)) < 0.3:
            text = text.capitalize() + "!"
        texts.append(text)
        labels.append(q)
    return texts, labels


def tokenize(text):
    words = re.findall(r"[a-z0-9\-]+", text.lower())
    return [w for w in words if w not in STOPWORDS]


class Vocab:
    def __init__(self, token_lists):
        self.itos = ["<pad>", "<unk>"] + sorted({w for toks in token_lists for w in toks})
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __call__(self, toks):
        return [self.stoi.get(w, 1) for w in toks]


class TicketDataset(Dataset):
    def __init__(self, texts, labels, vocab):
        self.ids = [vocab(tokenize(t)) for t in texts]
        self.labels = labels

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, idx):
        return {"input_ids": self.ids[idx], "label": self.labels[idx]}


def collate(items):
    max_len = max(1, max(len(it["input_ids"]) for it in items))
    input_ids = torch.zeros(len(items), max_len, dtype=torch.long)
    mask = torch.zeros(len(items), max_len)
    for i, it in enumerate(items):
        n = len(it["input_ids"])
        input_ids[i, :n] = torch.tensor(it["input_ids"], dtype=torch.long)
        mask[i, :n] = 1.0
    labels = torch.tensor([it["label"] for it in items])
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


class MeanPoolClassifier(nn.Module):
    def __init__(self, vocab_size, dim=64, n_classes=4, safe_pool=False):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.mlp = nn.Sequential(nn.Linear(dim, 64), nn.ReLU(), nn.Linear(64, n_classes))
        self.safe_pool = safe_pool

    def forward(self, input_ids, attention_mask):
        emb = self.emb(input_ids)
        summed = (emb * attention_mask.unsqueeze(-1)).sum(1)
        if self.safe_pool:
            pooled = summed / attention_mask.sum(1, keepdim=True).clamp_min(1)
        else:
            pooled = summed / attention_mask.sum(1, keepdim=True)
        return self.mlp(pooled)


def main():
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true")
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()

    torch.manual_seed(0)
    texts, labels = make_tickets(1400, torch.Generator().manual_seed(42))
    vocab = Vocab([tokenize(t) for t in texts])
    ds = TicketDataset(texts, labels, vocab)
    loader = DataLoader(ds, batch_size=16, shuffle=True, collate_fn=collate,
                        generator=torch.Generator().manual_seed(0))

    model = MeanPoolClassifier(len(vocab.itos), safe_pool=args.clean)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    accum_steps = 2

    losses = []
    opt_step = 0
    running = 0.0
    optimizer.zero_grad()
    for epoch in range(args.epochs):
        for i, batch in enumerate(loader):
            logits = model(batch["input_ids"], batch["attention_mask"])
            loss = F.cross_entropy(logits, batch["labels"]) / accum_steps
            loss.backward()
            running += loss.item()
            if (i + 1) % accum_steps == 0:
                optimizer.step()
                optimizer.zero_grad()
                losses.append(running)
                if opt_step % 20 == 0:
                    print(f"epoch {epoch} step {opt_step:4d} loss {running:.4f}")
                running = 0.0
                opt_step += 1

    print(f"final_loss={sum(losses[-10:]) / len(losses[-10:])}")


if __name__ == "__main__":
    main()
