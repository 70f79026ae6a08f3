"""V1 neural encoding model: predicting spike counts from images (Poisson CNN).

Model: a small convolutional "core + readout" system-identification network
(as used for predicting visual-cortex responses): two 5x5 conv layers
(16 channels, ELU) on 16x16 grayscale stimuli, a fully-connected readout to
48 neurons, and an exponential output nonlinearity, i.e. the network emits
log firing rates.  Trained with the Poisson negative log-likelihood
(nn.PoissonNLLLoss(log_input=True, full=True)) and SGD with momentum 0.9;
the learning rate is warmed up linearly to 0.05 over 150 steps; batch size
64, 300 steps.

Data: 6000 synthetic stimulus/response pairs generated in-script: drifting-
grating snapshots (random orientation, spatial frequency, phase, contrast)
plus pixel noise; 48 model V1 cells (half simple cells with a Gabor
receptive field + rectification, half complex cells using the energy model)
whose spike counts in a 200 ms bin are Poisson with means up to ~60 spikes.
The data are clean: finite, well-scaled inputs and integer counts.

What goes wrong: the gradient of the Poisson loss w.r.t. the log-rate is
exp(log_rate) - y, which grows exponentially once a predicted log-rate
overshoots, and the readout sees 4096 un-normalised core features.  While
the warm-up learning rate is small the network raises its log-rates towards
the observed counts and the loss falls normally (11.6 -> ~4 in the first
~28 steps).  As the learning rate grows, momentum makes the log-rates of
some neurons overshoot; the gradient for that batch is orders of magnitude
larger than usual, the SGD step throws the weights further out (loss spikes
of 23, 62, 92 around steps 29-36), and then exp() overflows: the loss is inf
at step 37 without --clean, NaN afterwards, and every parameter is NaN from
then on.  The run never recovers.

--clean: adds torch.nn.utils.clip_grad_norm_(params, 1.0) right before
optimizer.step(); nothing else changes.  With the occasional gradient spike
capped, the same model, data, learning-rate schedule and seed train to a
loss of ~2.43, close to the oracle loss of the true firing rates (2.23) and
far below the per-neuron constant-rate baseline (3.32).
"""
# recover-heldout: {"category": "exploding_gradients", "bad_samples": [], "nan_step": 37}

import argparse
import math

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

IMG = 16
N_NEURONS = 48


def gabor(theta, freq, phase, sigma, cx, cy):
    ys, xs = torch.meshgrid(torch.arange(IMG, dtype=torch.float32),
                            torch.arange(IMG, dtype=torch.float32), indexing="ij")
    xr = (xs - cx) * math.cos(theta) + (ys - cy) * math.sin(theta)
    yr = -(xs - cx) * math.sin(theta) + (ys - cy) * math.cos(theta)
    env = torch.exp(-(xr ** 2 + yr ** 2) / (2 * sigma ** 2))
    return env * torch.cos(2 * math.pi * freq * xr + phase)


def make_data(n=6000, seed=3):
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(IMG, dtype=torch.float32),
                            torch.arange(IMG, dtype=torch.float32), indexing="ij")
    # Grating stimuli + pixel noise.
    ori = torch.rand(n, 1, 1, generator=g) * math.pi
    sf = 0.06 + 0.2 * torch.rand(n, 1, 1, generator=g)
    ph = torch.rand(n, 1, 1, generator=g) * 2 * math.pi
    con = 0.2 + 0.8 * torch.rand(n, 1, 1, generator=g)
    proj = xs * torch.cos(ori) + ys * torch.sin(ori)
    imgs = con * torch.cos(2 * math.pi * sf * proj + ph) + 0.3 * torch.randn(n, IMG, IMG, generator=g)

    # Model V1 population: Gabor receptive fields.
    log_rate = torch.empty(n, N_NEURONS)
    flat = imgs.reshape(n, -1)
    for k in range(N_NEURONS):
        th = float(torch.rand(1, generator=g)) * math.pi
        f = 0.08 + 0.15 * float(torch.rand(1, generator=g))
        cx, cy = 5 + 6 * float(torch.rand(1, generator=g)), 5 + 6 * float(torch.rand(1, generator=g))
        sig = 1.8 + 1.2 * float(torch.rand(1, generator=g))
        base = 0.5 + 1.5 * float(torch.rand(1, generator=g))     # log spontaneous count
        ge = gabor(th, f, 0.0, sig, cx, cy).reshape(-1)
        go = gabor(th, f, math.pi / 2, sig, cx, cy).reshape(-1)
        ge, go = ge / ge.norm(), go / go.norm()
        if k % 2 == 0:   # simple cell: rectified linear filter
            drive = torch.relu(flat @ ge)
        else:            # complex cell: energy model
            drive = torch.sqrt((flat @ ge) ** 2 + (flat @ go) ** 2)
        log_rate[:, k] = base + 2.2 * torch.tanh(drive / 3.0)
    counts = torch.poisson(torch.exp(log_rate), generator=g)
    return imgs.unsqueeze(1), counts, log_rate


class CoreReadout(nn.Module):
    def __init__(self):
        super().__init__()
        self.core = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.ELU(),
            nn.Conv2d(16, 16, 5, padding=2), nn.ELU(),
        )
        self.readout = nn.Linear(16 * IMG * IMG, N_NEURONS)

    def forward(self, x):
        return self.readout(self.core(x).flatten(1))     # log firing rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true",
                    help="clip the global gradient norm to 1.0 before each step")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    imgs, counts, true_log_rate = make_data()
    loss_fn = nn.PoissonNLLLoss(log_input=True, full=True)
    oracle = loss_fn(true_log_rate, counts).item()
    print(f"oracle loss (true rates) = {oracle:.4f}")

    loader = DataLoader(TensorDataset(imgs, counts), batch_size=64, shuffle=True, drop_last=True)
    model = CoreReadout()
    params = list(model.parameters())
    optimizer = torch.optim.SGD(params, lr=0.05, momentum=0.9)
    warmup = 150
    sched = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup))

    losses = []
    step = 0
    while step < args.steps:
        for x, y in loader:
            if step >= args.steps:
                break
            log_rate = model(x)
            loss = loss_fn(log_rate, y)
            optimizer.zero_grad()
            loss.backward()
            if args.clean:
                torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            sched.step()
            losses.append(loss.item())
            if step % 20 == 0 or step == args.steps - 1:
                print(f"step {step:4d} loss {loss.item():.4f}")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
