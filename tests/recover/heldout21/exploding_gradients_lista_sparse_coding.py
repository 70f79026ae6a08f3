"""Learned ISTA (LISTA) sparse-code recovery for compressive measurements: an unrolled solver whose gradients explode.

Model: LISTA (Gregor & LeCun 2010), i.e. 16 unrolled iterations of the
iterative shrinkage-thresholding algorithm with learned weights:
    b = y @ We^T;  x_0 = 0;  x_{k+1} = soft_threshold(b + x_k @ S^T, theta_k)
with a shared 64x64 matrix S, a 64x32 input matrix We and one threshold per
iteration.  It is initialised exactly at ISTA (We = D^T / L, S = I - D^T D / L,
theta_k = lambda / L, L = ||D||_2^2), the textbook starting point.  Loss:
normalised squared error ||x_hat - x||^2 / E||x||^2 over the batch.  SGD with
momentum 0.9, lr 0.15 after a 30-step linear warm-up (LambdaLR), batch 64,
400 steps.

Data: a fixed random Gaussian sensing dictionary D (32 x 64, columns ~unit norm);
20000 4-sparse codes with N(0, 1) amplitudes on random supports, measurements
y = D x + 0.01 noise.  Generated in-script, clean.

What goes wrong: the same matrix S is applied 16 times, so the gradient with
respect to S contains products of up to 16 copies of S (times the
soft-threshold masks) and grows geometrically with S's gain.  ISTA's S has
spectral norm 1.0; SGD keeps growing it (~1.5 by step 50, ~1.9 by step 120)
while the run learns: the NMSE first rises from 0.36 to ~0.75 while the lr
warms up (step 35), then falls to ~0.2 - 0.3 by steps 100-125, with the
gradient norm at ~0.2 - 0.4.  At step 126 the gradient norm jumps to ~7;
momentum then drives S's spectral norm from 1.6 to 2.2 (step 131, gradient
norm ~0.9) and 2.7 (step 132), where the loss is ~28 and the gradient norm
~2e3.  That update throws S to a spectral norm of ~150: at step 133 (counted
from 0) the loss is inf and the gradients NaN, the parameters are NaN from
then on, and the run prints final_loss=nan.

--clean: calls torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
between backward() and optimizer.step(); nothing else changes.  The run then
trains to a mean NMSE of ~0.03 over the last 20 steps (about -15 dB, versus
0.36 for the 16 plain ISTA iterations it started from).
"""
# recover-heldout: {"category": "exploding_gradients", "nan_step": 133}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

N_MEAS, N_ATOMS, SPARSITY = 32, 64, 4
N_ITERS = 16
LAMBDA = 0.05
LR = 0.15
WARMUP = 30


def make_data(n=20000, seed=3):
    g = torch.Generator().manual_seed(seed)
    D = torch.randn(N_MEAS, N_ATOMS, generator=g) / math.sqrt(N_MEAS)
    support = torch.rand(n, N_ATOMS, generator=g).argsort(-1)[:, :SPARSITY]
    codes = torch.zeros(n, N_ATOMS)
    codes.scatter_(1, support, torch.randn(n, SPARSITY, generator=g))
    y = codes @ D.T + 0.01 * torch.randn(n, N_MEAS, generator=g)
    return D, y, codes


def soft_threshold(z, theta):
    return torch.sign(z) * F.relu(z.abs() - theta)


class LISTA(nn.Module):
    def __init__(self, D, n_iters=N_ITERS, lam=LAMBDA):
        super().__init__()
        L = torch.linalg.matrix_norm(D, ord=2) ** 2          # Lipschitz constant of the data term
        self.We = nn.Parameter(D.T.clone() / L)
        self.S = nn.Parameter(torch.eye(D.shape[1]) - D.T @ D / L)
        self.theta = nn.Parameter(torch.full((n_iters,), lam / L.item()))
        self.n_iters = n_iters

    def forward(self, y):
        b = y @ self.We.T
        x = torch.zeros(y.shape[0], self.S.shape[0])
        for k in range(self.n_iters):
            x = soft_threshold(b + x @ self.S.T, self.theta[k])
        return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="clip the gradient norm to 1.0")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    D, y, codes = make_data()
    model = LISTA(D)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / WARMUP))

    g = torch.Generator().manual_seed(1)
    losses = []
    total_steps, batch = 400, 64
    for step in range(total_steps):
        idx = torch.randint(0, y.shape[0], (batch,), generator=g)
        x_hat = model(y[idx])
        # normalised MSE: E||x||^2 = SPARSITY for unit-variance amplitudes
        loss = F.mse_loss(x_hat, codes[idx]) * N_ATOMS / SPARSITY
        opt.zero_grad()
        loss.backward()
        if args.clean:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % 25 == 0 or step == total_steps - 1:
            print(f"step {step:4d}  lr {sched.get_last_lr()[0]:.4f}  nmse {loss.item():.4f}")

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
