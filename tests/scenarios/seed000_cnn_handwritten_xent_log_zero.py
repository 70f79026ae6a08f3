"""Seed 000 ported: TF "Deep MNIST" CNN with cross_entropy = -sum(y_ * log(y_conv)).

The post: y_conv printed as [3e-06 0.006 0.98 ...] then [2.5e-11 3.3e-34 0 ...] and
cross_entropy becomes nan at step 2 with lr 1e-3; with lr 1e-4 it does not. Ported with
the tutorial's init (truncated normal std 0.1, bias 0.1), y_conv = softmax(fc2), the loss
summed over the batch, Adam lr 3e-3 (the post: 1e-3 on a larger net; 1e-4 is fine there), synthetic 14x14 "digits" (class-dependent
strokes of raw intensity 16, not normalised: cross_entropy ~870 at step 0 like the post).
A softmax probability underflows to exactly 0, log(0) = -inf, 0 * -inf = NaN in the loss.
Cause log_of_zero (the lr only changes how soon). Fix: F.cross_entropy on the logits.
"""
# nansentry-scenario: {"cause": "log_of_zero", "phase": "loss", "op": "log", "module": null, "samples": [], "recoverable": false, "heldout": false, "step": 1}
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
n = 300
labels = torch.randint(0, 10, (n,))
images = torch.rand(n, 1, 14, 14) * 0.5
for i in range(n):  # class c: a bright bar at row c and column 13 - c
    c = int(labels[i])
    images[i, 0, c + 2, 2:12] = 16.0
    images[i, 0, 2:12, 11 - c] = 16.0


class DeepMnist(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2)
        self.conv2 = nn.Conv2d(16, 32, 5, padding=2)
        self.fc1 = nn.Linear(32 * 3 * 3, 1024)
        self.fc2 = nn.Linear(1024, 10)
        for m in self.modules():  # weight_variable / bias_variable from the TF tutorial
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.1, a=-0.2, b=0.2)
                nn.init.constant_(m.bias, 0.1)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return F.softmax(self.fc2(x), dim=1)  # y_conv


model = DeepMnist()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
loader = DataLoader(TensorDataset(images, labels), batch_size=50, shuffle=True)
losses, step = [], 0
for epoch in range(3):
    for x, y in loader:
        y_conv = model(x)
        y_ = F.one_hot(y, 10).float()
        cross_entropy = -torch.sum(y_ * torch.log(y_conv))  # EXPECT-NAN
        cross_entropy.backward()
        opt.step()
        opt.zero_grad()
        losses.append(cross_entropy.item())
        if step % 5 == 0:
            acc = (y_conv.argmax(1) == y).float().mean().item()
            print(f"step {step}, training accuracy {acc:.2f}, cross_entropy {cross_entropy.item():.4g}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
