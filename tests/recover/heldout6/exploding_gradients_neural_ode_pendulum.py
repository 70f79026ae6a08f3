"""Neural ODE fit to damped-pendulum trajectories, unrolled with explicit Euler.

Model: an MLP vector field f(theta, omega) (2 -> 64 -> 64 -> 2, SiLU), turned into
trajectories by a fixed-step explicit Euler solver (4 sub-steps per observation
interval, 160 Euler steps over a 10 s horizon), then trained by
backpropagating through the whole unrolled solver.  Synthetic data: 1024 damped
pendulum trajectories from random initial angles/velocities, integrated with
fine RK4 and observed every 0.25 s with small measurement noise.  Loss: MSE
between the rolled-out and the observed trajectory.  SGD with momentum 0.9 and a
cosine learning-rate schedule.

What goes wrong: the gradient through 160 chained Euler steps is a product of
160 Jacobians (I + h * df/ds).  Once the learned field gets steep in part of the
state space this product explodes; one huge gradient (amplified by momentum)
makes the field so stiff that the explicit Euler rollout diverges, the states
overflow and the loss is inf/nan from step ~103 on (nan for the rest of the
run).

--clean: clip the global gradient norm to 1.0 with
torch.nn.utils.clip_grad_norm_ before every optimizer step.  Same seed, data,
learning rate, schedule and number of steps.
"""
# recover-heldout: {"category": "exploding_gradients", "bad_samples": [], "nan_step": 103}
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

N_TRAJ = 1024
N_OBS = 40          # observations per trajectory
DT_OBS = 0.25       # seconds between observations
SUBSTEPS = 4        # Euler steps per observation interval
BATCH = 32
STEPS = 500
LR = 0.07


def pendulum(s, g_over_l=4.905, damping=0.2):
    theta, omega = s[..., 0], s[..., 1]
    return torch.stack([omega, -g_over_l * torch.sin(theta) - damping * omega], dim=-1)


@torch.no_grad()
def simulate_rk4(s0, n_obs, dt_obs, sub=20):
    states, s, h = [s0], s0, dt_obs / sub
    for _ in range(n_obs - 1):
        for _ in range(sub):
            k1 = pendulum(s)
            k2 = pendulum(s + 0.5 * h * k1)
            k3 = pendulum(s + 0.5 * h * k2)
            k4 = pendulum(s + h * k3)
            s = s + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        states.append(s)
    return torch.stack(states, dim=1)


class ODEFunc(nn.Module):
    def __init__(self, width=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, width), nn.SiLU(),
                                 nn.Linear(width, width), nn.SiLU(),
                                 nn.Linear(width, 2))

    def forward(self, s):
        return self.net(s)


def euler_rollout(func, s0, n_obs, dt_obs, sub):
    states, s, h = [s0], s0, dt_obs / sub
    for _ in range(n_obs - 1):
        for _ in range(sub):
            s = s + h * func(s)
        states.append(s)
    return torch.stack(states, dim=1)


gen = torch.Generator().manual_seed(7)
theta0 = torch.empty(N_TRAJ).uniform_(-2.5, 2.5, generator=gen)
omega0 = torch.empty(N_TRAJ).uniform_(-2.0, 2.0, generator=gen)
clean_traj = simulate_rk4(torch.stack([theta0, omega0], dim=-1), N_OBS, DT_OBS)
observed = clean_traj + 0.02 * torch.randn(clean_traj.shape, generator=gen)

loader = DataLoader(TensorDataset(observed), batch_size=BATCH, shuffle=True,
                    drop_last=True, generator=torch.Generator().manual_seed(0))

func = ODEFunc()
optimizer = torch.optim.SGD(func.parameters(), lr=LR, momentum=0.9)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS)

losses = []
step = 0
first_bad = None
t0 = time.time()
while step < STEPS:
    for (traj,) in loader:
        pred = euler_rollout(func, traj[:, 0], N_OBS, DT_OBS, SUBSTEPS)
        loss = ((pred - traj) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        if args.clean:
            torch.nn.utils.clip_grad_norm_(func.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        if first_bad is None and not math.isfinite(losses[-1]):
            first_bad = step
            print(f"step {step}: non-finite loss {losses[-1]}")
        if step % 50 == 0:
            print(f"step {step:4d}  traj mse {losses[-1]:.4f}  lr {scheduler.get_last_lr()[0]:.4f}")
        step += 1
        if step >= STEPS:
            break

print(f"trained {STEPS} steps in {time.time() - t0:.1f}s")
print(f"final_loss={sum(losses[-10:]) / 10}")
