"""Bidirectional LSTM sequence tagger whose loss averages over each sentence's mask; two sentences are empty.

A tagger for a toy token-classification corpus: sentences of 1-18 word ids (0 is padding)
go through an embedding and a bidirectional nn.LSTM, and a linear layer predicts one of
6 tags per token. A custom collate_fn pads each batch and returns a 0/1 mask. The user
wants every sentence to weigh the same regardless of its length, so the loss is the
per-token cross-entropy averaged over each sentence's valid tokens,
(tok_loss * mask).sum(1) / mask.sum(1), then averaged over the batch. Optimizer: RMSprop.

The corpus was split on blank lines and two entries are empty sentences (dataset indices
372 and 548, length 0): valid input for the model, but mask.sum(1) is 0 for them and the
sentence loss is 0 / 0 = nan. When the first one is drawn (step 24 of 114, first epoch)
the batch loss is nan, backward sends nan into every gradient and RMSprop into every
weight; the run goes on with nan losses.

Fix (--clean): divide by mask.sum(1).clamp(min=1), so an empty sentence contributes a
zero loss. The data are unchanged.
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [372, 548], "nan_step": 24}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

N_SENTENCES, VOCAB, N_TAGS, MAX_LEN = 600, 60, 6, 18
EMPTY_SENTENCES = [372, 548]


class TaggedCorpus(Dataset):
    def __init__(self, seed=0):
        g = torch.Generator().manual_seed(seed)
        word_class = torch.randint(0, N_TAGS, (VOCAB,), generator=g)
        self.sentences = []
        for i in range(N_SENTENCES):
            length = 0 if i in EMPTY_SENTENCES else int(torch.randint(1, MAX_LEN + 1, (1,), generator=g))
            words = torch.randint(1, VOCAB, (length,), generator=g)
            # the tag of a word depends on its class and on the previous word's class
            prev = torch.cat([torch.zeros(1, dtype=torch.long), word_class[words[:-1]]]) if length else words
            tags = (word_class[words] + (prev % 2)) % N_TAGS
            self.sentences.append((words, tags))

    def __len__(self):
        return len(self.sentences)

    def __getitem__(self, i):
        return self.sentences[i]


def pad_batch(items):
    longest = max(max(len(w) for w, _ in items), 1)
    words = torch.zeros(len(items), longest, dtype=torch.long)
    tags = torch.zeros(len(items), longest, dtype=torch.long)
    mask = torch.zeros(len(items), longest)
    for row, (w, t) in enumerate(items):
        words[row, :len(w)] = w
        tags[row, :len(t)] = t
        mask[row, :len(w)] = 1.0
    return words, tags, mask


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 32, padding_idx=0)
        self.lstm = nn.LSTM(32, 32, batch_first=True, bidirectional=True)
        self.out = nn.Linear(64, N_TAGS)

    def forward(self, words):
        h, _ = self.lstm(self.emb(words))
        return self.out(h)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true", help="clamp the token count to at least 1")
    args = parser.parse_args()
    torch.manual_seed(0)

    loader = DataLoader(TaggedCorpus(), batch_size=16, shuffle=True, collate_fn=pad_batch)
    model = Tagger()
    opt = torch.optim.RMSprop(model.parameters(), lr=3e-3)
    token_loss = nn.CrossEntropyLoss(reduction="none")
    losses, step = [], 0
    for epoch in range(3):
        for words, tags, mask in loader:
            logits = model(words)
            tok = token_loss(logits.flatten(0, 1), tags.flatten()).view_as(mask)
            n_tokens = mask.sum(dim=1)
            if args.clean:
                n_tokens = n_tokens.clamp(min=1)
            loss = ((tok * mask).sum(dim=1) / n_tokens).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
            if step % 10 == 0:
                print(f"epoch {epoch} step {step} loss {loss.item():.4f}")
            step += 1
    print(f"final_loss={sum(losses[-10:]) / 10}")


if __name__ == "__main__":
    main()
