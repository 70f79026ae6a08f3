"""IRNN dead-reckoning: integrate noisy 2-D velocity readings into a position track.

Model: a single-layer ReLU RNN (hidden 64) with the recurrent matrix initialised
to the identity and zero biases ("IRNN", Le et al. 2015), which is a natural
choice here because the network has to integrate its input over 100 time
steps.  A linear head reads the 2-D position out of the hidden state at every
step.  Synthetic data: 4096 tracks whose velocity follows a smooth AR(1)
process; the input is the velocity plus sensor noise, the target is the
cumulative position.  Trained with SGD + momentum 0.9 on the per-step MSE.

What goes wrong: with an identity recurrence the ReLU RNN sits right at the
edge of stability.  After a few dozen steps an update pushes the spectral
radius of W_hh above 1; the hidden state and the back-propagated gradient then
grow like rho**100, the next update is enormous, the hidden state overflows and
the loss becomes inf/nan at step ~44 and stays nan for the rest of training.

--clean: clip the global gradient norm to 1.0 with
torch.nn.utils.clip_grad_norm_ before every optimizer step (as the IRNN paper
does).  Same seed, data, learning rate and number of steps.
"""
# recover-heldout: {"category": "exploding_gradients", "bad_samples": [], "nan_step": 44}
import argparse
import math
import time

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="clip the gradient norm")
args = parser.parse_args()

torch.set_num_threads(1)
torch.manual_seed(0)

SEQ_LEN = 100
N_TRACKS = 4096
HIDDEN = 64
BATCH = 32
STEPS = 400
LR = 3e-4
DT = 0.1


def make_tracks(n, seq_len, gen):
    """Smooth random 2-D velocities, noisy velocity measurements, true positions."""
    vel = torch.zeros(n, seq_len, 2)
    cur = 0.5 * torch.randn(n, 2, generator=gen)
    for t in range(seq_len):
        cur = 0.95 * cur + 0.3 * torch.randn(n, 2, generator=gen)
        vel[:, t] = cur
    measured = vel + 0.1 * torch.randn(n, seq_len, 2, generator=gen)
    position = torch.cumsum(vel * DT, dim=1)
    return measured, position


class IRNN(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.rnn = nn.RNN(2, hidden, nonlinearity="relu", batch_first=True)
        self.head = nn.Linear(hidden, 2)
        with torch.no_grad():
            self.rnn.weight_hh_l0.copy_(torch.eye(hidden))
            self.rnn.bias_hh_l0.zero_()
            self.rnn.bias_ih_l0.zero_()
            self.rnn.weight_ih_l0.normal_(0.0, 0.001)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out)


gen = torch.Generator().manual_seed(1234)
x_all, y_all = make_tracks(N_TRACKS, SEQ_LEN, gen)
loader = DataLoader(TensorDataset(x_all, y_all), batch_size=BATCH, shuffle=True,
                    drop_last=True, generator=torch.Generator().manual_seed(0))

model = IRNN(HIDDEN)
optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
criterion = nn.MSELoss()

losses = []
step = 0
first_bad = None
t0 = time.time()
while step < STEPS:
    for xb, yb in loader:
        loss = criterion(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        if args.clean:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        losses.append(loss.item())
        if first_bad is None and not math.isfinite(losses[-1]):
            first_bad = step
            print(f"step {step}: non-finite loss {losses[-1]}")
        if step % 25 == 0:
            print(f"step {step:4d}  position mse {losses[-1]:.4f}")
        step += 1
        if step >= STEPS:
            break

print(f"trained {STEPS} steps in {time.time() - t0:.1f}s")
print(f"final_loss={sum(losses[-10:]) / 10}")
