"""Bag-of-words topic classifier that L2-normalises term counts; two documents are empty.

Support tickets are turned into term-count vectors over a 300-word vocabulary (stop words
already removed) and classified into 5 queues by an MLP trained with AdamW and a
label-smoothed cross-entropy. The model's forward L2-normalises each count vector by
hand, counts / counts.norm(dim=1, keepdim=True), so long and short tickets look alike.

Two tickets (dataset indices 555 and 762) consisted only of stop words ("ok thanks!",
"???"): after stop-word removal their count vector is all zeros. That is legitimate
data, but the hand-written normalisation computes 0 / 0 = nan for them; when the first
one is drawn (step 17 of 125, first epoch) the logits, the loss and then every gradient
and weight are nan.

Fix (--clean): normalise safely, dividing by counts.norm(...).clamp_min(1e-6) (what
F.normalize does), so an empty ticket maps to the zero vector. The data are unchanged.
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [555, 762], "nan_step": 17}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

N_DOCS, VOCAB, N_QUEUES = 800, 300, 5
EMPTY_TICKETS = [555, 762]


def make_tickets(seed=0):
    g = torch.Generator().manual_seed(seed)
    queue = torch.randint(0, N_QUEUES, (N_DOCS,), generator=g)
    # each queue prefers its own block of 40 words, on top of a shared background
    word_logits = torch.zeros(N_QUEUES, VOCAB)
    for q in range(N_QUEUES):
        word_logits[q, q * 40:(q + 1) * 40] = 2.0
    probs = torch.softmax(word_logits, dim=1)[queue]
    length = torch.randint(4, 30, (N_DOCS,), generator=g)
    counts = torch.zeros(N_DOCS, VOCAB)
    for i in range(N_DOCS):
        words = torch.multinomial(probs[i], int(length[i]), replacement=True, generator=g)
        counts[i].index_add_(0, words, torch.ones(len(words)))
    counts[EMPTY_TICKETS] = 0.0  # only stop words in these tickets
    return counts, queue


class TicketRouter(nn.Module):
    def __init__(self, safe_normalize):
        super().__init__()
        self.safe_normalize = safe_normalize
        self.mlp = nn.Sequential(nn.Linear(VOCAB, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, N_QUEUES))

    def forward(self, counts):
        norm = counts.norm(dim=1, keepdim=True)
        if self.safe_normalize:
            norm = norm.clamp_min(1e-6)
        return self.mlp(counts / norm)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true", help="clamp the norm before dividing")
    args = parser.parse_args()
    torch.manual_seed(0)

    counts, queue = make_tickets()
    loader = DataLoader(TensorDataset(counts, queue), batch_size=32, shuffle=True)
    model = TicketRouter(safe_normalize=args.clean)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    losses, step = [], 0
    for epoch in range(5):
        for x, y in loader:
            loss = loss_fn(model(x), y)
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
