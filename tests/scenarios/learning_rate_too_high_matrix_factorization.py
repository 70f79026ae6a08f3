"""Matrix-factorisation recommender (user/item embeddings, dot product) with SGD lr=5.

rating ~ <u, v> + b_u + b_i, computed in the root module's forward (module ""). The loss is quartic in the embeddings, so a too-large step
does not just oscillate: user and item vectors feed each other's growth and the predicted
ratings grow step after step until they overflow. Held out: embeddings instead of dense
layers, a bilinear model, nesterov momentum. Stable with lr/100 (--clean).
"""
# nansentry-scenario: {"cause": "learning_rate_too_high", "phase": "forward", "op": "mul", "module": "", "samples": [], "recoverable": true, "heldout": true, "step": 6}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="use lr / 100")
args = parser.parse_args()
torch.manual_seed(0)
n_users, n_items, k = 60, 40, 8
true_u, true_v = torch.randn(n_users, 3), torch.randn(n_items, 3)
users = torch.randint(0, n_users, (1500,))
items = torch.randint(0, n_items, (1500,))
ratings = (true_u[users] * true_v[items]).sum(1) + 3.0


class MF(nn.Module):
    def __init__(self):
        super().__init__()
        self.user = nn.Embedding(n_users, k)
        self.item = nn.Embedding(n_items, k)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)

    def forward(self, u, i):
        dot = (self.user(u) * self.item(i)).sum(1)  # EXPECT-NAN
        return dot + self.user_bias(u).squeeze(1) + self.item_bias(i).squeeze(1)


model = MF()
opt = torch.optim.SGD(model.parameters(), lr=0.05 if args.clean else 5.0, momentum=0.5, nesterov=True)
loader = DataLoader(TensorDataset(users, items, ratings), batch_size=50, shuffle=True)
losses, step = [], 0
for epoch in range(3):
    for u, i, r in loader:
        loss = nn.functional.mse_loss(model(u, i), r)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4g}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
