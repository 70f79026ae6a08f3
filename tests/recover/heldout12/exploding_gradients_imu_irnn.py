"""IMU dead reckoning: integrate accelerometer readings with an IRNN.

Model: a single-layer ReLU RNN (hidden 64) with the IRNN initialisation of
Le et al. (2015): identity recurrent matrix, zero biases, so that at start
the network is a plain running-sum integrator.  A linear head reads the
hidden state every 10th time step and predicts the current 3-D velocity and
position (6 outputs, z-scored), trained with MSE.  SGD with momentum 0.9 and
two parameter groups (recurrent core at half the head's learning rate),
driven by OneCycleLR (peak lrs 0.005 / 0.01, 30% warm-up, 200 optimizer
steps).  Each optimizer step accumulates the gradients of 2 micro-batches of
32 trajectories; the DataLoader yields dict batches.  Every 25 steps the
model is evaluated on a validation set under model.eval() / torch.no_grad().

Data: 4096 training and 512 validation synthetic 7.5 s trajectories at
20 Hz (150 samples): the 3-axis acceleration is a random sum of sinusoids,
the targets are its first and second running integrals (velocity and
position), and the network sees the acceleration plus white sensor noise.

What goes wrong: the data is clean; the problem is the long (150-step)
ReLU recurrence started at the identity.  Backprop through 150 steps
multiplies the gradient by the recurrent Jacobian 150 times, so as soon as
the trained recurrent matrix amplifies some direction even slightly the
gradient grows geometrically.  The global gradient norm is noisy but
moderate at first (~4-70 during the first 20 steps of the warm-up), then
jumps to ~3e3 at step 20 and ~8e10 at step 21; that SGD step throws the
recurrent weights far out, the hidden state overflows and the loss and all
gradients are NaN from step 22 on.  Nothing clips the gradients, so the
weights stay NaN and every later loss is NaN.  Steps are counted in
optimizer steps from 0; with the seed below the first non-finite loss /
gradient is at step 22.

--clean: clips the accumulated gradient to a global norm of 1.0
(torch.nn.utils.clip_grad_norm_) before every optimizer step, from step 0;
everything else (init, learning rates, schedule, seed) is unchanged and the
model trains to a low MSE.
"""
# recover-heldout: {"category": "exploding_gradients", "bad_samples": [], "nan_step": 22}

import argparse
import math

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

SEQ_LEN, DT, READ_EVERY = 150, 0.05, 10


def synth_trajectories(n, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(SEQ_LEN, dtype=torch.float32) * DT
    freq = 0.2 + 2.0 * torch.rand(n, 3, 4, generator=g)                  # Hz
    amp = 0.5 * torch.randn(n, 3, 4, generator=g)                        # m/s^2
    phase = 2 * math.pi * torch.rand(n, 3, 4, generator=g)
    acc = (amp[..., None] * torch.sin(2 * math.pi * freq[..., None] * t + phase[..., None])).sum(2)
    acc = acc.transpose(1, 2)                                            # (n, T, 3)
    vel = torch.cumsum(acc, dim=1) * DT
    pos = torch.cumsum(vel, dim=1) * DT
    target = torch.cat([vel, pos], dim=2)[:, READ_EVERY - 1::READ_EVERY]  # (n, 15, 6)
    meas = acc + 0.05 * torch.randn(acc.shape, generator=g)
    return meas, target


class IMUWindows(Dataset):
    def __init__(self, accel, target):
        self.accel, self.target = accel, target

    def __len__(self):
        return len(self.accel)

    def __getitem__(self, i):
        return {"accel": self.accel[i], "target": self.target[i]}


class IRNNOdometry(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.rnn = nn.RNN(3, hidden, nonlinearity="relu", batch_first=True)
        self.head = nn.Linear(hidden, 6)
        with torch.no_grad():                      # IRNN initialisation
            self.rnn.weight_hh_l0.copy_(torch.eye(hidden))
            self.rnn.bias_hh_l0.zero_()
            self.rnn.bias_ih_l0.zero_()

    def forward(self, accel):
        h, _ = self.rnn(accel)
        return self.head(h[:, READ_EVERY - 1::READ_EVERY])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true",
                    help="clip the global gradient norm to 1.0 before each step")
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    tr_x, tr_y = synth_trajectories(4096, seed=1)
    va_x, va_y = synth_trajectories(512, seed=2)
    y_std = tr_y.flatten(0, 1).std(dim=0)
    train_set = IMUWindows(tr_x, tr_y / y_std)
    val_set = IMUWindows(va_x, va_y / y_std)
    loader = DataLoader(train_set, batch_size=32, shuffle=True, drop_last=True)

    model = IRNNOdometry()
    peak = 0.01
    opt = torch.optim.SGD([
        {"params": model.rnn.parameters(), "lr": peak * 0.5},
        {"params": model.head.parameters(), "lr": peak},
    ], momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[peak * 0.5, peak],
                                                total_steps=args.steps, pct_start=0.3)
    loss_fn = nn.MSELoss()
    accum = 2

    losses = []
    step = 0
    micro = 0
    running = 0.0
    opt.zero_grad()
    while step < args.steps:
        for batch in loader:
            if step >= args.steps:
                break
            pred = model(batch["accel"])
            loss = loss_fn(pred, batch["target"]) / accum
            loss.backward()
            running += loss.item()
            micro += 1
            if micro % accum != 0:
                continue

            if args.clean:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
            opt.zero_grad()
            sched.step()
            losses.append(running)
            if step % 10 == 0:
                print(f"step {step:4d}  lr {sched.get_last_lr()[1]:.5f}  loss {running:.4f}")
            running = 0.0

            if (step + 1) % 25 == 0:
                model.eval()
                with torch.no_grad():
                    v = loss_fn(model(val_set.accel), val_set.target).item()
                model.train()
                print(f"step {step:4d}  val_mse {v:.4f}")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
