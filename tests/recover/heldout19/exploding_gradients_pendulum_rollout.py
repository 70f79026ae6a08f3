"""Learned simulator for coupled pendulums trained with a multi-step rollout loss.

Model: a residual one-step dynamics model x_{t+1} = x_t + dt * f(x_t), with
f = Linear(4, 128) -> ReLU -> Linear(128, 128) -> ReLU -> Linear(128, 4)
and dt = 0.05, acting on the state (theta1, theta2, omega1, omega2).  It
is trained the usual way for learned simulators: starting from the first
state of a window it is rolled out autoregressively (feeding back its own
predictions) for 60 steps, and the loss is the MSE between the predicted
and the recorded trajectory.  SGD with momentum 0.9 (lr 0.1),
ExponentialLR(gamma=0.95) stepped once per epoch, batch 16, 300 training
steps in an epoch loop (32 steps per epoch).

Data: 64 trajectories of two weakly coupled, lightly damped pendulums (240
states each, dt 0.05, random initial angles and velocities) simulated
in-script and written at start-up as 8 .npy shards (8 trajectories each)
into a tempfile directory.  PendulumWindows is a map-style Dataset with 8
entries per trajectory; it loads and caches the shards, and __getitem__
takes a random 61-state crop of the trajectory (torch RNG) and adds
Gaussian measurement noise (sigma 0.01).  The DataLoader uses a
DistributedSampler(num_replicas=1, rank=0, shuffle=True, seed=0) whose
set_epoch(epoch) is called at the start of every epoch, and pin_memory=True.

What goes wrong: nothing in the data.  Backpropagation through the 60-step
rollout multiplies the Jacobians of the learned step, and as training
sharpens the dynamics some directions of the learned map become slightly
expanding; the gradient then grows geometrically with the rollout length.
Training is normal at first (rollout MSE 5.8 -> ~2, gradient norm mostly
0.15 - 1.5, with spikes to ~16 at step 44 and ~70 at step 68).  The update
after that spike leaves the model unstable: at step 70 the rollout
diverges (MSE ~1e9, gradient norm ~6e10), that step's update throws the
weights out entirely, and at step 71 (counted from 0) the rollout
overflows, the loss is NaN, and every parameter is NaN from then on.

--clean: calls torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
between backward() and optimizer.step() on every step; nothing else
changes.  The run then trains smoothly to a mean rollout MSE of ~0.12
over the last 20 steps.
"""
# recover-heldout: {"category": "exploding_gradients", "nan_step": 71}

import argparse
import os
import shutil
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, DistributedSampler

DT = 0.05
TRAJ_LEN = 240
ROLLOUT = 60
N_TRAJ = 64
PER_SHARD = 8


def simulate(n_traj=N_TRAJ, length=TRAJ_LEN, seed=0):
    """Two pendulums (g/l = 9.81) joined by a weak spring, semi-implicit Euler with 10 substeps."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n_traj, length, 4), np.float32)
    h = DT / 10
    for k in range(n_traj):
        th = rng.uniform(-2.0, 2.0, 2)
        om = rng.uniform(-1.5, 1.5, 2)
        for t in range(length):
            out[k, t] = [th[0], th[1], om[0], om[1]]
            for _ in range(10):
                acc = -9.81 * np.sin(th) - 0.8 * (th - th[::-1]) - 0.05 * om
                om = om + h * acc
                th = th + h * om
    return out


def write_shards(root):
    traj = simulate()
    for s in range(0, N_TRAJ, PER_SHARD):
        np.save(os.path.join(root, f"pendulum_{s // PER_SHARD:02d}.npy"), traj[s:s + PER_SHARD])


class PendulumWindows(Dataset):
    def __init__(self, root, crops_per_traj=8, noise=0.01):
        self.files = sorted(os.path.join(root, f) for f in os.listdir(root) if f.endswith(".npy"))
        self.crops_per_traj = crops_per_traj
        self.noise = noise
        self._cache = {}

    def __len__(self):
        return len(self.files) * PER_SHARD * self.crops_per_traj

    def _traj(self, i):
        shard, j = divmod(i, PER_SHARD)
        if shard not in self._cache:
            self._cache[shard] = torch.from_numpy(np.load(self.files[shard]))
        return self._cache[shard][j]

    def __getitem__(self, idx):
        traj = self._traj(idx // self.crops_per_traj)
        start = int(torch.randint(0, TRAJ_LEN - ROLLOUT, (1,)))
        window = traj[start:start + ROLLOUT + 1]
        return window + self.noise * torch.randn_like(window)


class ResidualStep(nn.Module):
    def __init__(self, hidden=128):
        super().__init__()
        self.f = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(),
                               nn.Linear(hidden, hidden), nn.ReLU(),
                               nn.Linear(hidden, 4))

    def forward(self, x):
        return x + DT * self.f(x)

    def rollout(self, x0, steps):
        xs = []
        x = x0
        for _ in range(steps):
            x = self(x)
            xs.append(x)
        return torch.stack(xs, dim=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="clip the gradient norm to 1.0")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    tmp = tempfile.mkdtemp(prefix="pendulum_")
    try:
        write_shards(tmp)
        ds = PendulumWindows(tmp)
        sampler = DistributedSampler(ds, num_replicas=1, rank=0, shuffle=True, seed=0)
        loader = DataLoader(ds, batch_size=16, sampler=sampler, drop_last=True, pin_memory=True)

        model = ResidualStep()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.95)

        losses = []
        step = 0
        for epoch in range(100):
            sampler.set_epoch(epoch)
            for window in loader:
                if step >= args.steps:
                    break
                pred = model.rollout(window[:, 0], ROLLOUT)
                loss = F.mse_loss(pred, window[:, 1:])
                opt.zero_grad()
                loss.backward()
                if args.clean:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                losses.append(loss.item())
                if step % 20 == 0:
                    print(f"epoch {epoch:2d} step {step:4d}  rollout mse {loss.item():.4f}")
                step += 1
            sched.step()
            if step >= args.steps:
                break

        print(f"final_loss={sum(losses[-20:]) / 20}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
