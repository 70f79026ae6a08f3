"""Deep residual MLP without normalisation, scaled-up residual branches.

Model: an 8-block residual MLP (width 64, two Kaiming-initialised Linear layers
+ ReLU per branch, branch scale 0.5 instead of ~1/depth, no LayerNorm/BatchNorm)
regressing a smooth nonlinear function of 16 Gaussian inputs with MSE.
Optimiser: SGD with momentum 0.9 and a linear learning-rate ramp from ~0 to
0.1 over the 300 steps (the warmup is never capped).

What goes wrong: the un-normalised residual stream amplifies both activations
and gradients through the depth, so the loss surface is sharp.  Training is
normal at first (loss 3.75 -> ~0.2-0.3 by step 100-130, grad norm ~2-5), but
once the growing learning rate crosses the stability limit the gradient norm
climbs 2 -> 14 -> 125 -> 2e5 within ~12 steps (steps 130-142); the unclipped
update throws the weights away and the loss is NaN from step 143 to the end.

--clean: clips the global gradient norm to 1.0 right before optimizer.step()
(same seed, data, learning-rate schedule and number of steps); training stays
finite and ends around 0.25.
"""
# recover-heldout: {"category": "exploding_gradients", "bad_samples": [], "nan_step": 143}
import argparse

import torch
import torch.nn as nn

torch.set_num_threads(1)

DIM_IN = 16
WIDTH = 64
DEPTH = 8
ALPHA = 0.5
N_TRAIN = 512
BATCH = 64
STEPS = 300
LR = 0.1
WARMUP = 300
MOM = 0.9


class ResBlock(nn.Module):
    def __init__(self, width, alpha):
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)
        self.alpha = alpha
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
        nn.init.kaiming_normal_(self.fc2.weight, nonlinearity="relu")

    def forward(self, x):
        return x + self.alpha * self.fc2(torch.relu(self.fc1(x)))


class ResMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(DIM_IN, WIDTH)
        self.blocks = nn.Sequential(*[ResBlock(WIDTH, ALPHA) for _ in range(DEPTH)])
        self.out = nn.Linear(WIDTH, 1)

    def forward(self, x):
        return self.out(self.blocks(self.inp(x))).squeeze(-1)


def make_data(gen):
    x = torch.randn(N_TRAIN, DIM_IN, generator=gen)
    w = torch.randn(DIM_IN, generator=gen)
    y = torch.sin(x @ w / 2.0) + 0.5 * (x[:, 0] * x[:, 1]) + 0.1 * torch.randn(N_TRAIN, generator=gen)
    return x, y


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true",
                        help="clip gradient norm to 1.0 before each step")
    args = parser.parse_args()

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    x_all, y_all = make_data(gen)
    model = ResMLP()
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=LR, momentum=MOM)
    loss_fn = nn.MSELoss()

    losses = []
    for step in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = LR * min(1.0, (step + 1) / WARMUP)
        idx = torch.randint(0, N_TRAIN, (BATCH,), generator=gen)
        pred = model(x_all[idx])
        loss = loss_fn(pred, y_all[idx])
        opt.zero_grad()
        loss.backward()
        gnorm = torch.sqrt(sum(p.grad.pow(2).sum() for p in params)).item()
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
