"""Seed 002 ported: Theano CNN (5 conv + 2 hidden + softmax) whose weights explode.

The post: cv0..cv4 (relu) -> hid1 -> hid2 -> softmax, plain SGD updates
param - lr * grad on the 66 patches of a single image, cost
-mean(log(p_y_given_x)[arange(n), y]); the error grows every iteration, cv0's weights go
from ~0.1 to ~-24000 by the 3rd epoch, then NaN; lr 0.001 sometimes and lr 0.0001 always
fixes it. Port: the same architecture on 66 synthetic 9x9 patches, init randn * sqrt(2 /
(fan_in + fan_out)) as in the post, the same cost and manual SGD update. To reproduce
within 20 epochs on this tiny problem the learning rate is 0.5 (the post's 0.01 was on a
much larger net). Cause learning_rate_too_high; --clean uses lr / 100.
"""
# nansentry-scenario: {"cause": "learning_rate_too_high", "phase": "loss", "op": "log", "module": null, "samples": [], "recoverable": true, "heldout": false, "step": 1}
import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="lr / 100")
args = parser.parse_args()
torch.manual_seed(0)
patches = torch.rand(66, 1, 9, 9)
labels = (patches[:, 0, 4, 4] > 0.5).long() + (patches.mean((1, 2, 3)) > 0.5).long()

layers = []
ch = [1, 8, 8, 8, 8, 8]
for i in range(5):
    layers += [nn.Conv2d(ch[i], ch[i + 1], 3, padding=1), nn.ReLU()]
layers += [nn.Flatten(), nn.Linear(8 * 81, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 3)]
classifier = nn.Sequential(*layers)
for m in classifier.modules():
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        fan_in, fan_out = m.weight.shape[1], m.weight.shape[0]
        with torch.no_grad():
            m.weight.copy_(torch.randn_like(m.weight) * (2.0 / (fan_in + fan_out)) ** 0.5)
            m.bias.zero_()


class PlainSGD(torch.optim.Optimizer):
    """updates = [(param_i, param_i - learning_rate * grad_i) ...] as in the post."""

    def __init__(self, params, lr):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    p.sub_(g["lr"] * p.grad)


opt = PlainSGD(classifier.parameters(), lr=0.005 if args.clean else 0.5)
losses, step = [], 0
for epoch in range(20):
    for i in range(0, 66, 11):  # 6 minibatches of 11 patches
        x, y = patches[i:i + 11], labels[i:i + 11]
        p_y_given_x = torch.softmax(classifier(x), 1)
        cost = -torch.mean(torch.log(p_y_given_x)[torch.arange(len(y)), y])  # EXPECT-NAN
        cost.backward()
        opt.step()
        opt.zero_grad()
        losses.append(cost.item())
        step += 1
    print(f"epoch {epoch} cost {cost.item():.4g} cv0[0,0,0,0] {classifier[0].weight[0, 0, 0, 0].item():.4g}")
print(f"final_loss={sum(losses[-10:]) / 10}")
