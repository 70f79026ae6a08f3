"""A classifier with a hand-written cross-entropy: the most common NaN in the wild.

`-(y * log(softmax(z))).sum()` is what seed posts from TensorFlow and Theano users
wrote. Once the softmax saturates, a probability rounds to exactly 0 in float32,
log(0) = -inf, and 0 * -inf = NaN: the loss turns NaN and the run is lost. The fix is
`F.log_softmax` (or `F.cross_entropy` on the logits).

Run it as a user would: `nansentry run examples/handwritten_cross_entropy.py`.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# Ten well-separated classes of 32-dim points: the model becomes very confident.
centers = torch.randn(10, 32) * 10
labels = torch.randint(0, 10, (2048,))
inputs = centers[labels] + torch.randn(2048, 32)
loader = DataLoader(TensorDataset(inputs, labels), batch_size=64, shuffle=True)

model = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

step = 0
for epoch in range(20):
    for x, y in loader:
        probs = F.softmax(model(x), dim=1)
        onehot = F.one_hot(y, 10).float()
        loss = -(onehot * torch.log(probs)).sum(dim=1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 10 == 0:
            print(f"step {step:4d}  loss {loss.item():.4f}")
        step += 1
print(f"final loss {loss.item():.4f}")
