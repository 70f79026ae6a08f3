"""Hourly traffic-count forecaster with a hand-written self-attention block, trained with SGD.

Model: the last 168 hourly readings of a road sensor (one week, scaled by
the sensor's long-run average) are cut into 14 patches of 12 hours, each
patch is linearly embedded to d_model 48 and given a learned positional
embedding, then two hand-written pre-LN blocks (single-head scaled
dot-product self-attention with q/k/v/out projections, then a GELU MLP,
both residual) are applied, and a flatten head predicts the next 24 hours.
Loss: MSE.  SGD with Nesterov momentum 0.9, weight decay 1e-4, linear
warmup over 50 steps then cosine decay (LambdaLR).  Batch 64, 240 steps.

Data: 4096 synthetic sensor windows generated in-script (daily and weekly
cycles with sensor-specific amplitude, rush-hour peaks, noise); clean.

What goes wrong: the base learning rate is 0.1, several times what plain
SGD with Nesterov momentum can take on this MSE.  While the warmup rate is
still small the loss falls (~1.1 -> ~0.08 by step 13), but once the ramped
rate (0.002 per step) passes the stability edge of the loss surface the
updates overshoot and grow geometrically: the loss climbs from step ~15,
passes 5e3 at step 23 and 1e9 at step 24, reaches ~8e24 at step 25, and at
step 26 (counted from 0) the loss is NaN and the parameters are NaN; every
later loss is NaN, so the run prints final_loss=nan.

--clean: uses a base learning rate of 0.02 (same optimizer, momentum,
schedule and everything else).  The run then trains to a mean MSE of
~0.019 over the last 20 steps (from 1.09 at initialisation).
"""
# recover-heldout: {"category": "learning_rate_too_high", "nan_step": 26}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

CONTEXT = 168
HORIZON = 24
PATCH = 12


def make_windows(n=4096, seed=21):
    g = torch.Generator().manual_seed(seed)
    start = torch.randint(0, 168, (n, 1), generator=g).float()
    t = start + torch.arange(CONTEXT + HORIZON, dtype=torch.float32)
    hour = t % 24
    weekday = ((t // 24) % 7) < 5
    amp = 0.5 + torch.rand(n, 1, generator=g)
    rush = (torch.exp(-((hour - 8) ** 2) / 3.0) + torch.exp(-((hour - 17.5) ** 2) / 4.0))
    daily = 0.4 * torch.sin(2 * math.pi * (hour - 9) / 24)
    x = 1.0 + amp * (daily + rush * torch.where(weekday, 1.0, 0.3))
    x = x + 0.1 * torch.randn(x.shape, generator=g)
    x = x / x[:, :CONTEXT].mean(dim=1, keepdim=True)
    return x[:, :CONTEXT], x[:, CONTEXT:]


class SelfAttention(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.out = nn.Linear(d, d)
        self.scale = 1.0 / math.sqrt(d)

    def forward(self, x):
        att = (self.q(x) @ self.k(x).transpose(1, 2)) * self.scale
        att = att.softmax(dim=-1)
        return self.out(att @ self.v(x))


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = SelfAttention(d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class Forecaster(nn.Module):
    def __init__(self, d=48, n_blocks=2):
        super().__init__()
        n_patches = CONTEXT // PATCH
        self.embed = nn.Linear(PATCH, d)
        self.pos = nn.Parameter(torch.zeros(1, n_patches, d))
        self.blocks = nn.ModuleList([Block(d) for _ in range(n_blocks)])
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(n_patches * d, HORIZON)

    def forward(self, x):
        h = self.embed(x.unfold(1, PATCH, PATCH)) + self.pos
        for blk in self.blocks:
            h = blk(h)
        return self.head(self.ln_f(h).flatten(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="use a sensible base learning rate")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    ctx, target = make_windows()
    model = Forecaster()
    base_lr = 0.02 if args.clean else 0.1
    opt = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9, nesterov=True,
                          weight_decay=1e-4)
    total_steps, warmup, batch = 240, 50, 64

    def lr_lambda(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)

    g = torch.Generator().manual_seed(1)
    losses = []
    for step in range(total_steps):
        idx = torch.randint(0, ctx.shape[0], (batch,), generator=g)
        pred = model(ctx[idx])
        loss = F.mse_loss(pred, target[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % 20 == 0 or step == total_steps - 1:
            print(f"step {step:4d}  loss {loss.item():.4f}  lr {sched.get_last_lr()[0]:.3e}")

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
