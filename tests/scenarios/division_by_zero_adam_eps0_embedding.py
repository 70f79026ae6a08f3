"""Adam with eps=0 and an embedding whose padding row never receives a gradient.

A bag-of-words classifier uses nn.Embedding(padding_idx=0): the padding row's gradient is
exactly zero at every step, so Adam's exp_avg and exp_avg_sq stay 0 for it and the update
exp_avg / (sqrt(exp_avg_sq) + eps) is 0/0 = NaN when eps=0 ("eps is only for numerical
safety, let's remove it"). The forward and backward are finite; the first NaN is produced
in the optimizer's addcdiv at the very first step. Fix: keep eps (1e-8).
"""
# nansentry-scenario: {"cause": "division_by_zero", "phase": "optimizer", "op": "addcdiv", "module": null, "samples": [], "recoverable": false, "heldout": false, "step": 0}
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
vocab, n, length = 100, 384, 12
tokens = torch.randint(1, vocab, (n, length))
lengths = torch.randint(4, length + 1, (n,))
tokens[torch.arange(length)[None, :] >= lengths[:, None]] = 0  # right padding
labels = (tokens % 7 == 3).sum(1).gt(1).long()


class BagOfWords(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(vocab, 16, padding_idx=0)
        self.head = nn.Linear(16, 2)

    def forward(self, tok):
        mask = (tok != 0).float().unsqueeze(-1)
        pooled = (self.emb(tok) * mask).sum(1) / mask.sum(1)
        return self.head(pooled)


model = BagOfWords()
opt = torch.optim.Adam(model.parameters(), lr=1e-2, eps=0.0)
loader = DataLoader(TensorDataset(tokens, labels), batch_size=32, shuffle=True)

losses, step = [], 0
for epoch in range(4):
    for tok, y in loader:
        loss = nn.functional.cross_entropy(model(tok), y)
        loss.backward()
        opt.step()  # EXPECT-NAN
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
