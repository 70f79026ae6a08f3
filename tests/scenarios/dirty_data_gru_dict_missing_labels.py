"""Dict batches for a GRU review-rating regressor; a few ratings are missing (NaN).

Batches are dicts {"tokens": int64, "length": int64, "rating": float32, "verified": bool}
and the model returns a dict. Reviews whose rating was missing in the export carry NaN in
"rating" (dataset indices 9, 101, 257). The loss is computed on the model's "rating" output
against the NaN target: NaN loss, NaN weights. DataLoader(shuffle=True, num_workers=2, persistent_workers=True).
Held out: dict batch and dict output, recurrent model, NaN in the target not the input.
Fix: filter unlabelled rows (--clean) or mask them out of the loss.
"""
# nansentry-scenario: {"cause": "dirty_data", "phase": "data", "op": null, "module": null, "samples": [257], "recoverable": true, "heldout": true, "step": 6}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

BAD_INDICES = [9, 101, 257]
VOCAB, LENGTH = 50, 10


class Reviews(Dataset):
    def __init__(self, clean, n=300):
        self.tokens = torch.randint(1, VOCAB, (n, LENGTH))
        self.length = torch.randint(3, LENGTH + 1, (n,))
        self.rating = (self.tokens < 10).float().mean(1) * 5
        self.rating[BAD_INDICES] = float("nan")
        self.verified = torch.rand(n) > 0.3
        self.keep = [i for i in range(n) if not (clean and i in BAD_INDICES)]

    def __len__(self):
        return len(self.keep)

    def __getitem__(self, i):
        i = self.keep[i]
        return {"tokens": self.tokens[i], "length": self.length[i],
                "rating": self.rating[i], "verified": self.verified[i]}


class Rater(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 16)
        self.rnn = nn.GRU(16, 24, batch_first=True)
        self.head = nn.Linear(24, 1)

    def forward(self, tokens, length):
        out, _ = self.rnn(self.emb(tokens))
        last = out[torch.arange(len(length)), length - 1]
        return {"rating": self.head(last).squeeze(1), "hidden": last}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true", help="drop rows without a rating")
    args = parser.parse_args()
    torch.manual_seed(0)
    loader = DataLoader(Reviews(args.clean), batch_size=25, shuffle=True, num_workers=2, persistent_workers=True)
    model = Rater()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3)
    losses, step = [], 0
    for epoch in range(3):
        for batch in loader:
            out = model(batch["tokens"], batch["length"])
            weight = 1.0 + batch["verified"].float()
            loss = (weight * (out["rating"] - batch["rating"]) ** 2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
            if step % 10 == 0:
                print(f"step {step} loss {loss.item():.4f}")
            step += 1
    print(f"final_loss={sum(losses[-10:]) / 10}")


if __name__ == "__main__":
    main()
