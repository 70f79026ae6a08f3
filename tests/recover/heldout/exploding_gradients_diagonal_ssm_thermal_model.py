"""Diagonal linear state-space model (S4D/LRU-style) identifying a slow thermal plant.

The user fits a grey-box model of a building zone: heater power goes in, temperature
comes out. The model is a diagonal linear recurrence h_t = lam * h_{t-1} + B u_t,
y_t = C h_t + D u_t with 16 learnable poles lam (initialised in [0.2, 0.7]), unrolled
by hand over 96 time steps and trained with SGD + momentum on the MSE of the whole
trajectory. The plant has a very slow mode (pole 0.995), so the best model sits right
at the edge of stability.

As the largest learned pole creeps towards 1 the loss gets steeper and steeper along it;
at step 40 of 150 a momentum step carries it just past 1, the unrolled state grows like
lam^96 and the gradient norm jumps from ~1 to ~135. The unclipped update, carried on by
momentum, throws that pole out to about -2.7: two steps later the unrolled state
overflows float32 and the loss and all gradients are nan (step 42), then every weight.
Nothing is wrong with the data.

Fix (--clean): clip the gradient norm to 1.0 before the optimizer step; the identical
model and learning rate then converge to a good fit.
"""
# recover-heldout: {"category": "exploding_gradients", "bad_samples": [], "nan_step": 42}
import argparse

import torch
from torch import nn

T, N_STATE, BATCH = 96, 16, 16
PLANT_POLES = (0.995, 0.9, 0.5)
PLANT_GAINS = (0.05, 0.2, 0.5)


class DiagonalSSM(nn.Module):
    def __init__(self, n=N_STATE):
        super().__init__()
        self.lam = nn.Parameter(torch.linspace(0.2, 0.7, n))
        self.B = nn.Parameter(torch.randn(n, 1) * 0.3)
        self.C = nn.Parameter(torch.randn(1, n) * 0.3)
        self.D = nn.Parameter(torch.zeros(1, 1))

    def forward(self, u):
        h = u.new_zeros(u.shape[0], self.lam.shape[0])
        ys = []
        for t in range(u.shape[1]):
            h = self.lam * h + u[:, t] @ self.B.T
            ys.append(h @ self.C.T + u[:, t] @ self.D.T)
        return torch.stack(ys, dim=1)


def plant_response(u):
    """The true zone: sum of three first-order lags, applied as a causal convolution."""
    lag = torch.arange(T)[:, None] - torch.arange(T)[None, :]
    kernel = sum(g * torch.tensor(p).pow(lag.clamp(min=0).float()) for p, g in zip(PLANT_POLES, PLANT_GAINS))
    kernel = kernel * (lag >= 0)
    return torch.einsum("ts,bsi->bti", kernel, u)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true", help="clip the gradient norm to 1.0")
    args = parser.parse_args()
    torch.manual_seed(0)

    model = DiagonalSSM()
    opt = torch.optim.SGD(model.parameters(), lr=0.015, momentum=0.9)
    losses = []
    for step in range(150):
        heater = torch.randn(BATCH, T, 1)  # excitation signal for the identification experiment
        temperature = plant_response(heater)
        loss = ((model(heater) - temperature) ** 2).mean()
        loss.backward()
        if args.clean:
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.5f} max pole {model.lam.max().item():.4f}")
    print(f"final_loss={sum(losses[-10:]) / 10}")


if __name__ == "__main__":
    main()
