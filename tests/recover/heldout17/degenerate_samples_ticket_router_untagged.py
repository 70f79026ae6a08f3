"""Support-ticket queue routing from the ticket text and its tag set.

Model: ``TicketRouter``.  The ticket text (token ids, variable length 4-40)
goes through nn.Embedding(600, 48, padding_idx=0) and a GRU(48 -> 96) fed
with ``pack_padded_sequence`` (enforce_sorted=False); the final hidden state
is the text vector.  The ticket's tags (0-5 ids out of 48, padded with 0)
go through nn.Embedding(48, 24, padding_idx=0) and are mean-pooled:
the padded embeddings are summed and divided by the number of real tags.
Text and tag vectors are concatenated, passed through a Linear(120 -> 64) +
ReLU "fuse" layer and a Linear(64 -> 6) queue classifier; cross-entropy
loss.  A forward hook registered by the user on the fuse layer keeps the
mean absolute activation for the progress log.  Training happens in a
helper ``train(model, train_loader, val_loader, ...)``: Adam lr 3e-3, a
fixed 300 steps over epochs of a shuffled DataLoader (batch 32,
drop_last=False: 2410 tickets give 75 full batches and a final batch of
10), validation every 25 steps under model.eval() + torch.no_grad(), and
the best model by validation loss saved with torch.save(state_dict) into a
tempfile.TemporaryDirectory and reloaded at the end for a final report.
Progress goes through the ``logging`` module.

Data: a map-style ``TicketDataset`` of 2410 synthetic tickets (500 more for
validation), generated in-script: each ticket belongs to one of 6 queues
(billing, login, shipping, ...), a quarter of its tokens are queue
keywords and the rest generic words, and agents attach 1-5 tags (60% of
them queue-specific).  A handful of tickets were closed without any tag,
which is legitimate: in the training set these are tickets 407, 1978 and
2216 (the validation tickets all carry at least one tag).  Nothing in the
data is NaN or Inf.

What goes wrong: for an untagged ticket the tag mean is 0 / 0 = NaN (the
tag-count denominator is zero).  Training is normal (loss 1.8 -> ~1.3)
until the first batch that holds an untagged ticket: with the seeded
shuffle that is step 30 (counted from 0; ticket 1978).  Its NaN tag vector
makes that row's logits and the batch loss NaN, the backward pass puts NaN
into every gradient, Adam writes NaN into all weights, and every later loss
is NaN.  Validation loss is NaN from then on, so the best checkpoint stays
the one saved at step 24, which is reloaded for the final report; training
still runs all 300 steps.

--clean: clamps the tag-count denominator to at least 1
(``counts.clamp(min=1)``), so an untagged ticket gets an all-zero tag vector;
nothing else changes.  The run then trains to a mean loss of ~0.01 over the
last 20 steps (validation loss ~0.1, accuracy ~0.96).
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [407, 1978, 2216], "nan_step": 30}

import argparse
import logging
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
from torch.utils.data import DataLoader, Dataset

log = logging.getLogger("ticket_router")

N_QUEUES = 6
VOCAB = 600
N_TAGS = 48


def make_tickets(n, seed):
    """Synthetic tickets: (token ids, tag ids, queue)."""
    g = torch.Generator().manual_seed(seed)
    keywords = [list(range(1 + 40 * q, 1 + 40 * (q + 1))) for q in range(N_QUEUES)]
    queue_tags = [list(range(1 + 6 * q, 1 + 6 * (q + 1))) for q in range(N_QUEUES)]
    # how many tags agents attach; a very few tickets get closed without a tag
    count_probs = torch.tensor([0.0015, 0.25, 0.3, 0.22, 0.13, 0.0985])
    tickets = []
    for _ in range(n):
        q = int(torch.randint(0, N_QUEUES, (1,), generator=g))
        length = int(torch.randint(4, 41, (1,), generator=g))
        toks = []
        for _ in range(length):
            if float(torch.rand(1, generator=g)) < 0.25:
                toks.append(keywords[q][int(torch.randint(0, 40, (1,), generator=g))])
            else:
                toks.append(int(torch.randint(241, VOCAB, (1,), generator=g)))
        n_tags = int(torch.multinomial(count_probs, 1, generator=g))
        tags = []
        for _ in range(n_tags):
            if float(torch.rand(1, generator=g)) < 0.6:
                tags.append(queue_tags[q][int(torch.randint(0, 6, (1,), generator=g))])
            else:
                tags.append(int(torch.randint(37, N_TAGS, (1,), generator=g)))
        tickets.append((toks, tags, q))
    return tickets


class TicketDataset(Dataset):
    def __init__(self, tickets):
        self.tickets = tickets

    def __len__(self):
        return len(self.tickets)

    def __getitem__(self, idx):
        toks, tags, queue = self.tickets[idx]
        return torch.tensor(toks), torch.tensor(tags, dtype=torch.long), queue


def collate(batch):
    toks, tags, queues = zip(*batch)
    lengths = torch.tensor([len(t) for t in toks])
    toks = pad_sequence(toks, batch_first=True, padding_value=0)
    tags = pad_sequence(tags, batch_first=True, padding_value=0)
    return toks, lengths, tags, torch.tensor(queues)


class TicketRouter(nn.Module):
    def __init__(self, clamp_empty=False):
        super().__init__()
        self.tok_emb = nn.Embedding(VOCAB, 48, padding_idx=0)
        self.gru = nn.GRU(48, 96, batch_first=True)
        self.tag_emb = nn.Embedding(N_TAGS, 24, padding_idx=0)
        self.fuse = nn.Linear(96 + 24, 64)
        self.classifier = nn.Linear(64, N_QUEUES)
        self.clamp_empty = clamp_empty

    def forward(self, toks, lengths, tags):
        packed = pack_padded_sequence(self.tok_emb(toks), lengths, batch_first=True, enforce_sorted=False)
        _, h = self.gru(packed)
        text_vec = h[-1]
        counts = (tags != 0).sum(dim=1, keepdim=True).float()
        if self.clamp_empty:
            counts = counts.clamp(min=1)
        tag_vec = self.tag_emb(tags).sum(dim=1) / counts
        z = torch.relu(self.fuse(torch.cat([text_vec, tag_vec], dim=1)))
        return self.classifier(z)


def evaluate(model, loader):
    model.eval()
    total, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for toks, lengths, tags, y in loader:
            logits = model(toks, lengths, tags)
            total += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            n += len(y)
    model.train()
    return total / n, correct / n


def train(model, train_loader, val_loader, steps=300, lr=3e-3, eval_every=25, ckpt_dir="."):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    acts = {}

    def log_fuse(module, inputs, output):
        acts["fuse"] = output.detach().abs().mean().item()

    hook = model.fuse.register_forward_hook(log_fuse)
    best_path = os.path.join(ckpt_dir, "best.pt")
    best_val = float("inf")
    losses = []
    step, epoch = 0, 0
    model.train()
    while step < steps:
        for toks, lengths, tags, y in train_loader:
            if step >= steps:
                break
            logits = model(toks, lengths, tags)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 20 == 0:
                log.info("epoch %d step %d loss %.4f |fuse| %.3f", epoch, step, losses[-1], acts["fuse"])
            if (step + 1) % eval_every == 0:
                val_loss, val_acc = evaluate(model, val_loader)
                log.info("step %d val_loss %.4f val_acc %.3f", step, val_loss, val_acc)
                if val_loss < best_val:
                    best_val = val_loss
                    torch.save(model.state_dict(), best_path)
                    log.info("saved new best checkpoint (val_loss %.4f)", val_loss)
            step += 1
        epoch += 1
    hook.remove()
    if os.path.exists(best_path):
        model.load_state_dict(torch.load(best_path))
        log.info("reloaded best checkpoint (val_loss %.4f)", best_val)
    return losses


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true",
                    help="clamp the tag-count denominator so untagged tickets are safe")
    args = ap.parse_args()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(levelname)s] %(name)s: %(message)s")
    torch.set_num_threads(1)
    torch.manual_seed(0)

    train_ds = TicketDataset(make_tickets(2410, seed=2))
    val_ds = TicketDataset(make_tickets(500, seed=21))
    train_loader = DataLoader(train_ds, batch_size=32, shuffle=True, drop_last=False, collate_fn=collate,
                              generator=torch.Generator().manual_seed(6))
    val_loader = DataLoader(val_ds, batch_size=100, shuffle=False, collate_fn=collate)

    model = TicketRouter(clamp_empty=args.clean)
    with tempfile.TemporaryDirectory() as ckpt_dir:
        losses = train(model, train_loader, val_loader, ckpt_dir=ckpt_dir)
        val_loss, val_acc = evaluate(model, val_loader)
        log.info("best model: val_loss %.4f val_acc %.3f", val_loss, val_acc)

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
