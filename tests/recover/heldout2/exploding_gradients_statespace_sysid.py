"""Linear state-space model (system identification) trained by BPTT -- nan around step 100.

Model: a learned discrete-time linear state-space model of a lightly damped
two-mode plant (think flexible robot link / vibrating beam):

    h[t+1] = A h[t] + B u[t]          (A: 16x16, nn.Linear without bias)
    y[t]   = C h[t]

rolled out over 100 time steps and fitted to simulated input/output
experiments (white-noise excitation u, measured response y) with MSE on the
whole output trajectory.  SGD with momentum 0.9, lr 0.06 with cosine
annealing over 300 steps, a fresh batch of 32 experiments every step, no
gradient clipping.

What goes wrong: the true plant has poles at |z| = 0.99, so fitting it pushes
the spectral radius of the learned A towards 1.  For the first ~95 steps the
loss goes down (0.49 -> ~0.2) while A's spectral radius bounces between ~0.55
and ~0.95.  At step 96 a momentum step has pushed it past 1 (rho ~1.06), the
100-step rollout grows like rho^100, the loss jumps to ~47 and the gradient
norm from <1 to ~1.7e4; the un-clipped SGD step throws A to a spectral radius
of ~330 and the next forward pass overflows: the loss is first non-finite
(nan) at optimizer step 97 and every later step is nan.

--clean: identical script, but `torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)`
between backward() and optimizer.step().
"""
# recover-heldout: {"category": "exploding_gradients", "bad_samples": [], "nan_step": 97}

import argparse
import math

import torch
import torch.nn as nn

STATE_DIM = 16
HORIZON = 100


def make_plant(pole_radius=0.99):
    """Ground-truth plant: two lightly damped oscillators, 2 inputs, 2 outputs."""
    thetas = [0.05, 0.13]
    A = torch.zeros(4, 4)
    for i, th in enumerate(thetas):
        A[2 * i:2 * i + 2, 2 * i:2 * i + 2] = pole_radius * torch.tensor(
            [[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    B = torch.tensor([[1., 0.], [0., 0.], [0., 1.], [0., 0.]]) * 0.1
    C = torch.tensor([[1., 0., 0.5, 0.], [0., 1., 0., 1.]])
    return A, B, C


@torch.no_grad()
def simulate(plant, u):
    A, B, C = plant
    x = torch.zeros(u.shape[0], 4)
    ys = []
    for t in range(u.shape[1]):
        x = x @ A.T + u[:, t] @ B.T
        ys.append(x @ C.T)
    return torch.stack(ys, 1)


class StateSpaceModel(nn.Module):
    def __init__(self, n_in=2, n_out=2, state_dim=STATE_DIM):
        super().__init__()
        self.state_dim = state_dim
        self.A = nn.Linear(state_dim, state_dim, bias=False)
        self.B = nn.Linear(n_in, state_dim)
        self.C = nn.Linear(state_dim, n_out)

    def forward(self, u):
        h = torch.zeros(u.shape[0], self.state_dim)
        outs = []
        for t in range(u.shape[1]):
            h = self.A(h) + self.B(u[:, t])
            outs.append(self.C(h))
        return torch.stack(outs, 1)


def main():
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()

    torch.manual_seed(0)
    data_gen = torch.Generator().manual_seed(1)
    plant = make_plant()

    model = StateSpaceModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.06, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.steps)
    criterion = nn.MSELoss()

    losses = []
    for step in range(args.steps):
        u = torch.randn(32, HORIZON, 2, generator=data_gen)  # excitation experiments
        y = simulate(plant, u)

        y_hat = model(u)
        loss = criterion(y_hat, y)
        optimizer.zero_grad()
        loss.backward()
        if args.clean:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()

        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step:4d}  loss {loss.item():.5f}")

    print(f"final_loss={sum(losses[-10:]) / len(losses[-10:])}")


if __name__ == "__main__":
    main()
