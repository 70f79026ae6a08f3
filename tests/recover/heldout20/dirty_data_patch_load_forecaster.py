"""Day-ahead household load forecasting with a patch transformer (PatchTST-style).

Model: channel-independent patch transformer.  Each sample is one smart-meter
series of 120 half-hourly readings; the first 96 are the context and the last
24 the forecast target.  The context is instance-normalised (RevIN: subtract
the window mean, divide by the window std), cut into 8 non-overlapping
patches of 12 readings, linearly embedded to d_model 64, given a learned
positional embedding and passed through a 2-layer nn.TransformerEncoder
(4 heads, pre-LN, GELU, dropout 0.1).  A flatten head maps the 8 patch
tokens to the 24 future readings, which are de-normalised with the window
statistics.  Loss: MSE in normalised units.  AdamW (lr 1e-3) with two
parameter groups (weight decay 0.05 on weight matrices, none on biases,
LayerNorm weights and the positional embedding), linear warmup over 20 steps
then cosine decay through LambdaLR.  Batch 32, 240 steps.

Data: 2400 synthetic meter series generated in-script (daily sinusoid with a
household-specific phase, an evening peak, a slow trend and noise), served by
a map-style Dataset through a shuffled DataLoader (seeded generator).  The
export is dirty: three series carry meter glitches that were written out as
non-finite values -- dataset index 611 has a NaN reading in the context,
index 1437 an Inf reading in the context, and index 2090 a NaN in the target
window.

What goes wrong: training is normal (loss ~1.4 -> ~0.17) until the first
batch that contains one of those samples.  That is step 52 (counted from 0),
whose batch holds index 611: the NaN reading makes the window mean and std
NaN and the RevIN-normalised context NaN, so the loss is NaN, every gradient is NaN,
and the AdamW update writes NaN into every parameter.  From then on every
loss is NaN and the run prints final_loss=nan.

--clean: drops the samples whose context or target is not finite (the three
indices above) from the Dataset before building the DataLoader; nothing else
changes.  The run then trains to a mean MSE of ~0.06 over the last 20 steps.
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [611, 1437, 2090], "nan_step": 52}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

CONTEXT = 96
HORIZON = 24
PATCH = 12


def make_series(n=2400, seed=11):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(CONTEXT + HORIZON, dtype=torch.float32)
    day = 48.0
    phase = torch.rand(n, 1, generator=g) * 2 * math.pi
    base = 0.5 + torch.rand(n, 1, generator=g) * 1.5
    amp = 0.2 + torch.rand(n, 1, generator=g) * 0.8
    peak_amp = torch.rand(n, 1, generator=g) * 1.2
    trend = (torch.rand(n, 1, generator=g) - 0.5) * 0.01
    tod = (t % day) / day
    evening = torch.exp(-((tod - 0.78) ** 2) / 0.004)
    x = (base + amp * torch.sin(2 * math.pi * t / day + phase)
         + peak_amp * evening + trend * t
         + 0.08 * torch.randn(n, t.numel(), generator=g))
    # meter glitches exported as non-finite values
    x[611, 40] = float("nan")
    x[1437, 77] = float("inf")
    x[2090, CONTEXT + 5] = float("nan")
    return x


class MeterDataset(Dataset):
    def __init__(self, series):
        self.series = series

    def __len__(self):
        return self.series.shape[0]

    def __getitem__(self, i):
        s = self.series[i]
        return s[:CONTEXT], s[CONTEXT:]


class PatchForecaster(nn.Module):
    def __init__(self, d_model=64, n_heads=4, n_layers=2):
        super().__init__()
        self.n_patches = CONTEXT // PATCH
        self.patch_embed = nn.Linear(PATCH, d_model)
        self.pos_embed = nn.Parameter(torch.randn(1, self.n_patches, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward=128, dropout=0.1,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(self.n_patches * d_model, HORIZON)

    def forward(self, ctx):
        mean = ctx.mean(dim=1, keepdim=True)
        std = ctx.std(dim=1, keepdim=True) + 1e-5
        z = (ctx - mean) / std
        patches = z.unfold(1, PATCH, PATCH)                    # (B, n_patches, PATCH)
        h = self.patch_embed(patches) + self.pos_embed
        h = self.norm(self.encoder(h))
        out = self.head(h.flatten(1))
        return out, mean, std


def param_groups(model, wd):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.ndim < 2 or "norm" in name or name == "pos_embed":
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true",
                    help="drop samples with non-finite readings before training")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    series = make_series()
    if args.clean:
        keep = torch.isfinite(series).all(dim=1)
        series = series[keep]
    ds = MeterDataset(series)
    loader = DataLoader(ds, batch_size=32, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(6))

    model = PatchForecaster()
    opt = torch.optim.AdamW(param_groups(model, 0.05), lr=1e-3, betas=(0.9, 0.95))
    total_steps, warmup = 240, 20

    def lr_lambda(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)

    losses = []
    step = 0
    model.train()
    while step < total_steps:
        for ctx, target in loader:
            if step >= total_steps:
                break
            pred, mean, std = model(ctx)
            loss = F.mse_loss(pred, (target - mean) / std)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            if step % 20 == 0 or step == total_steps - 1:
                print(f"step {step:4d}  loss {loss.item():.4f}  lr {sched.get_last_lr()[0]:.2e}")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
