"""A text classifier whose head module returns log-probabilities as log(softmax(z)).

`ProbHead.forward` computes torch.log(torch.softmax(z, -1)) (instead of log_softmax) and
the loop uses F.nll_loss on it. The bag-of-embeddings encoder with a high lr (Adam 0.1)
becomes very confident; a softmax probability underflows to exactly 0 and log gives -inf
inside the model (module "head"); nll_loss of -inf then poisons the gradients.
Fix: F.log_softmax.
"""
# nansentry-scenario: {"cause": "log_of_zero", "phase": "forward", "op": "log", "module": "head", "samples": [], "recoverable": false, "heldout": false, "step": 47}
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
vocab, n, length, k = 200, 512, 16, 6
labels = torch.randint(0, k, (n,))
tokens = torch.randint(0, vocab, (n, length))
tokens[:, :4] = labels[:, None] * 30 + torch.randint(0, 30, (n, 4))  # class keywords


class ProbHead(nn.Module):
    def __init__(self, d, k):
        super().__init__()
        self.fc = nn.Linear(d, k)

    def forward(self, h):
        return torch.log(torch.softmax(self.fc(h), -1))  # EXPECT-NAN


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.EmbeddingBag(vocab, 32, mode="sum")
        self.body = nn.Sequential(nn.Linear(32, 64), nn.ReLU())
        self.head = ProbHead(64, k)

    def forward(self, tok):
        return self.head(self.body(self.emb(tok)))


model = Classifier()
opt = torch.optim.Adam(model.parameters(), lr=0.1)
loader = DataLoader(TensorDataset(tokens, labels), batch_size=64, shuffle=True)
losses, step = [], 0
for epoch in range(6):
    for tok, y in loader:
        loss = F.nll_loss(model(tok), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4f}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
