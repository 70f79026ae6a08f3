"""Vanilla tanh RNN on a long-memory regression task, SGD + momentum with warmup.

Model: a single-layer Elman RNN (tanh, hidden 64) reads a 60-step sequence of
scalar Gaussian noise and, through a linear readout of the final hidden state,
must regress a weighted sum of the inputs seen 10..6 steps before the end
(MSE loss).  The recurrent matrix is initialised as a scaled orthogonal matrix
with gain 1.2 (spectral radius > 1, the expanding regime), and the learning
rate is linearly warmed up to 0.05 over the first 50 steps.

What goes wrong: the loss trains normally at first (21 -> ~17 at step 25), but as
the learning rate ramps up the backprop-through-time gradient, a product of
many recurrent Jacobians with gain > 1, starts feeding on itself: each
unclipped momentum update enlarges W_hh and the readout, which enlarges the
next gradient.  The gradient norm climbs from ~10 to ~1e2 around step 35,
~1e4 at step 40 and ~1e18 by step 65; the weights are thrown to huge values,
the prediction overflows, the MSE becomes inf at step 67 and NaN afterwards,
and it stays NaN to the end (final_loss=nan).

--clean: clips the global gradient norm to 1.0 right before optimizer.step()
(same seed, data, learning-rate schedule and number of steps); training then
stays finite and the loss drops to ~3.
"""
# recover-heldout: {"category": "exploding_gradients", "bad_samples": [], "nan_step": 67}
import argparse
import math

import torch
import torch.nn as nn

torch.set_num_threads(1)

SEQ_LEN = 60
HIDDEN = 64
BATCH = 64
STEPS = 300
WARMUP = 50
LR = 0.05
GAIN = 1.2


class TanhRNNRegressor(nn.Module):
    def __init__(self, hidden=HIDDEN, gain=GAIN):
        super().__init__()
        self.rnn = nn.RNN(1, hidden, nonlinearity="tanh", batch_first=True)
        with torch.no_grad():
            nn.init.orthogonal_(self.rnn.weight_hh_l0, gain=gain)
            nn.init.normal_(self.rnn.weight_ih_l0, std=1.0)
            self.rnn.bias_hh_l0.zero_()
            self.rnn.bias_ih_l0.zero_()
        self.readout = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.readout(out[:, -1]).squeeze(-1)


def make_batch(gen):
    x = torch.randn(BATCH, SEQ_LEN, 1, generator=gen)
    # target depends only on inputs 10..6 steps before the end -> the
    # network has to carry information through many recurrent steps
    w = torch.tensor([1.0, -0.8, 0.6, -0.4, 0.2])
    y = 3.0 * (x[:, -10:-5, 0] * w).sum(dim=1)
    return x, y


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true",
                        help="clip gradient norm to 1.0 before each step")
    args = parser.parse_args()

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = TanhRNNRegressor()
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=LR, momentum=0.9)
    loss_fn = nn.MSELoss()

    losses = []
    for step in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = LR * min(1.0, (step + 1) / WARMUP)
        x, y = make_batch(gen)
        pred = model(x)
        loss = loss_fn(pred, y)
        opt.zero_grad()
        loss.backward()
        gnorm = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in params))
        if args.clean:
            torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(loss.item())
        if step % 20 == 0 or step == STEPS - 1:
            print(f"step {step:4d} loss {loss.item():.6g} grad_norm {gnorm:.4g}")

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
