"""REINFORCE with a Gaussian policy on a contextual continuous-control bandit.

Model: an MLP policy maps a 6-d context (target position, wind, arm state)
to the mean of a 2-d Gaussian action (a joint-torque command); the log-std
is a free learned parameter.  The reward is a game-style "score": 100 for
hitting the (unknown) optimal command, minus 10 per squared unit of error.  The surrogate loss is the
vanilla REINFORCE  -(log pi(a|s) * R).mean()  with the raw, unnormalised
score as R (no baseline, no advantage normalisation), optimised with SGD +
momentum.  Contexts come from a DataLoader over a fixed, seeded pool.

What goes wrong: with R ~ 60..100 and no baseline, every sample pushes the
log-std down and the gradient wrt the mean scales like R * eps / sigma.  For
the first ~50 steps training looks fine (mean score 65 -> ~88, sigma 1 ->
0.2), but the gradient norm grows as sigma shrinks (~50 -> ~300).  Around
step ~55 the SGD+momentum steps start overshooting, the score goes negative
(the penalty is unbounded), and negative raw returns of hundreds multiply
the gradient further: grad norm 3e3 -> 1e4 -> 8e5 -> 2e7 over steps 66-70,
entries of ~1e20 at step 71 (total norm overflows float32 to inf), and
from step 72 the loss, gradients and parameters are nan.

--clean: adds torch.nn.utils.clip_grad_norm_(policy.parameters(),
max_norm=10.0) before optimizer.step(); everything else (seed, contexts,
action noise, steps) is identical, and the policy converges.
"""
# recover-heldout: {"category": "exploding_gradients", "bad_samples": [], "nan_step": 72}
import argparse
import math

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.set_num_threads(1)

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true")
args = parser.parse_args()

torch.manual_seed(0)

OBS_DIM, ACT_DIM = 6, 2
STEPS = 400
BATCH = 64
LR = 5e-4

g = torch.Generator().manual_seed(1)
contexts = torch.randn(20000, OBS_DIM, generator=g)
W_true = torch.randn(OBS_DIM, ACT_DIM, generator=g) * 0.6


def optimal_action(s):
    return torch.tanh(s @ W_true) + 0.2 * torch.sin(3.0 * s[:, :ACT_DIM])


def score(s, a):
    """Game-style score: 100 for a perfect command, minus 10 per squared unit of error."""
    err = ((a - optimal_action(s)) ** 2).sum(-1)
    return 100.0 - 10.0 * err


class GaussianPolicy(nn.Module):
    def __init__(self):
        super().__init__()
        self.mu = nn.Sequential(nn.Linear(OBS_DIM, 64), nn.Tanh(),
                                nn.Linear(64, 64), nn.Tanh(),
                                nn.Linear(64, ACT_DIM))
        self.log_std = nn.Parameter(torch.zeros(ACT_DIM))

    def forward(self, s):
        return self.mu(s), self.log_std.expand(s.shape[0], ACT_DIM)


def gaussian_log_prob(a, mu, log_std):
    z = (a - mu) / log_std.exp()
    return (-0.5 * z ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


loader = DataLoader(TensorDataset(contexts), batch_size=BATCH, shuffle=True,
                    generator=torch.Generator().manual_seed(2), drop_last=True)
policy = GaussianPolicy()
optimizer = torch.optim.SGD(policy.parameters(), lr=LR, momentum=0.9)

losses, scores = [], []
step = 0
while step < STEPS:
    for (s,) in loader:
        mu, log_std = policy(s)
        with torch.no_grad():
            a = mu + log_std.exp() * torch.randn_like(mu)
            R = score(s, a)
        loss = -(gaussian_log_prob(a, mu, log_std) * R).mean()
        optimizer.zero_grad()
        loss.backward()
        if args.clean:
            torch.nn.utils.clip_grad_norm_(policy.parameters(), max_norm=10.0)
        optimizer.step()
        losses.append(loss.item())
        scores.append(R.mean().item())
        if step % 25 == 0:
            print(f"step {step:4d}  loss {losses[-1]:10.3f}  mean score {scores[-1]:6.2f}  "
                  f"std {policy.log_std.exp().mean().item():.4f}")
        step += 1
        if step >= STEPS:
            break

print(f"final_loss={sum(losses[-10:]) / 10}")
