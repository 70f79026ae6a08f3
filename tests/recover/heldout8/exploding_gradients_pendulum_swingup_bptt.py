"""Pendulum swing-up controller trained by backpropagation through a differentiable simulator.

Model: a small ReLU MLP policy u = pi(cos th, sin th, omega) drives a damped pendulum
(th = 0 is upright). The pendulum dynamics are integrated with semi-implicit Euler for
100 steps (5 s, dt = 0.05) and the policy is trained end-to-end with SGD + momentum on
the average rollout cost (1 - cos th) + 0.01 omega^2 + 1e-3 u^2, starting every episode
from the hanging position with a little noise.

What goes wrong: early on the pendulum just hangs (a stable regime) and gradients are
tiny. As the policy learns to pump energy and reach the unstable upright region, the
backward pass through the 100-step rollout becomes chaotic and the gradient norm grows by
orders of magnitude (1e-2 -> 1e0 -> 1e11). One such gradient, applied unclipped by SGD,
throws the policy weights far away; the next rollout produces enormous torques, the loss
overflows and the parameters become NaN around step 60. The loop keeps running and the
loss stays NaN until the end.

--clean: clip the global gradient norm to 1.0 with torch.nn.utils.clip_grad_norm_
before every optimizer step (the usual remedy for BPTT through long rollouts). Seed,
data, learning rate and number of steps are unchanged; the policy learns the swing-up
and the loss goes from ~1.98 to ~0.2.
"""
# recover-heldout: {"category": "exploding_gradients", "bad_samples": [], "nan_step": 61}
import argparse
import math
import time

import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="clip gradient norm to 1.0")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

torch.manual_seed(args.seed)
torch.set_num_threads(1)
gen = torch.Generator().manual_seed(args.seed)

# physics
DT = 0.05
HORIZON = 100
GRAVITY = 9.81
LENGTH = 1.0
DAMPING = 0.1

# training
BATCH = 32
STEPS = 300
LR = 0.05
CLIP = 1.0


class Policy(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(3, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, th, om):
        return self.net(torch.cat([torch.cos(th), torch.sin(th), om], dim=1))


def rollout_cost(policy, th, om):
    cost = 0.0
    for _ in range(HORIZON):
        u = policy(th, om)
        om = om + DT * (GRAVITY / LENGTH * torch.sin(th) - DAMPING * om + u)
        th = th + DT * om
        cost = cost + (1.0 - torch.cos(th)) + 0.01 * om ** 2 + 1e-3 * u ** 2
    return (cost / HORIZON).mean()


def sample_initial_states(n):
    # hanging down (th = pi) with small perturbations
    th0 = math.pi + 0.3 * torch.randn(n, 1, generator=gen)
    om0 = 0.3 * torch.randn(n, 1, generator=gen)
    return th0, om0


policy = Policy()
opt = torch.optim.SGD(policy.parameters(), lr=LR, momentum=0.9)

losses = []
t0 = time.time()
for step in range(STEPS):
    th0, om0 = sample_initial_states(BATCH)
    loss = rollout_cost(policy, th0, om0)

    opt.zero_grad()
    loss.backward()
    if args.clean:
        grad_norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), CLIP)
    else:
        grad_norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), float("inf"))
    opt.step()

    losses.append(loss.item())
    if step % 20 == 0 or step == STEPS - 1:
        print(f"step {step:4d}  loss {loss.item():.4f}  grad_norm {grad_norm.item():.3e}")

print(f"time {time.time() - t0:.1f}s")
print(f"final_loss={sum(losses[-10:]) / 10}")
