"""Meta-SGD few-shot sinusoid regression with a long unrolled inner loop.

Model: a random-Fourier-feature regressor whose initial weights ``w0`` and
per-weight inner learning rates ``alpha`` are meta-learned (Meta-SGD, Li et al.
2017).  For every task (a sinusoid with random amplitude/phase/frequency) the
inner loop takes INNER_STEPS differentiable SGD steps on a 10-shot support set,
and the meta-loss is the MSE on the query set after adaptation.  The outer
optimiser is SGD with momentum on (w0, alpha).

What goes wrong: the meta-gradient keeps pushing ``alpha`` up (bigger inner
steps adapt faster).  Once some alpha crosses the stability limit 2/lambda_max
of the inner quadratic, the unrolled inner loop amplifies by |1 - alpha*lambda|
per step and the meta-gradient grows like INNER_STEPS * |1-alpha*lambda|^T.
Training looks healthy for ~215 steps (meta-loss 2.8 -> ~0.3) while alpha
creeps towards the edge; at steps ~218-220 unlucky support sets put the inner
loop over the edge, the meta-loss goes 22 -> 211 -> 1e23 and the gradient
entries reach ~1e23 (the total grad norm already overflows float32 at step
220).  That SGD step throws alpha to ~-1e17, and from step 221 the unroll
overflows: meta-loss and gradients are nan for the rest of training.

--clean: adds torch.nn.utils.clip_grad_norm_(meta_params, max_norm=1.0)
before opt.step(); the spike is capped, alpha gets nudged back below the
stability edge and meta-training converges.
"""
# recover-heldout: {"category": "exploding_gradients", "bad_samples": [], "nan_step": 221}
import argparse
import math

import torch
from torch.utils.data import DataLoader, Dataset

torch.set_num_threads(1)

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true")
args = parser.parse_args()

torch.manual_seed(0)

N_FEAT = 64
INNER_STEPS = 25
K_SHOT, K_QUERY = 10, 20
META_STEPS = 300
META_BATCH = 8


class SinusoidTasks(Dataset):
    def __init__(self, n_tasks, seed):
        g = torch.Generator().manual_seed(seed)
        self.amp = torch.empty(n_tasks).uniform_(0.1, 5.0, generator=g)
        self.phase = torch.empty(n_tasks).uniform_(0.0, math.pi, generator=g)
        self.freq = torch.empty(n_tasks).uniform_(0.5, 2.0, generator=g)
        self.x = torch.empty(n_tasks, K_SHOT + K_QUERY, 1).uniform_(-5.0, 5.0, generator=g)

    def __len__(self):
        return len(self.amp)

    def __getitem__(self, i):
        x = self.x[i]
        y = self.amp[i] * torch.sin(self.freq[i] * x + self.phase[i])
        return x[:K_SHOT], y[:K_SHOT], x[K_SHOT:], y[K_SHOT:]


class RFF(torch.nn.Module):
    """Fixed random Fourier features, phi(x) = sqrt(2/D) cos(Wx + b)."""

    def __init__(self, n_feat):
        super().__init__()
        self.register_buffer("W", torch.randn(1, n_feat) * 1.5)
        self.register_buffer("b", torch.rand(n_feat) * 2 * math.pi)

    def forward(self, x):
        return math.sqrt(2.0 / self.W.shape[1]) * torch.cos(x @ self.W + self.b)


features = RFF(N_FEAT)
w0 = torch.zeros(N_FEAT, 1, requires_grad=True)
alpha = torch.full((N_FEAT, 1), 0.05, requires_grad=True)
meta_params = [w0, alpha]
opt = torch.optim.SGD(meta_params, lr=0.3, momentum=0.9)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, META_STEPS, eta_min=0.002)

loader = DataLoader(SinusoidTasks(META_STEPS * META_BATCH, seed=1), batch_size=META_BATCH, shuffle=False)


def adapt_and_eval(xs, ys, xq, yq):
    phi_s, phi_q = features(xs), features(xq)
    w = w0
    for _ in range(INNER_STEPS):
        inner = ((phi_s @ w - ys) ** 2).mean()
        (g,) = torch.autograd.grad(inner, w, create_graph=True)
        w = w - alpha * g
    return ((phi_q @ w - yq) ** 2).mean()


losses = []
for step, (xs, ys, xq, yq) in enumerate(loader):
    meta_loss = torch.stack([adapt_and_eval(xs[i], ys[i], xq[i], yq[i]) for i in range(META_BATCH)]).mean()
    opt.zero_grad()
    meta_loss.backward()
    if args.clean:
        torch.nn.utils.clip_grad_norm_(meta_params, max_norm=1.0)
    opt.step()
    sched.step()
    losses.append(meta_loss.item())
    if step % 20 == 0 or (len(losses) > 1 and math.isfinite(losses[-2]) and not math.isfinite(losses[-1])):
        print(f"step {step:4d}  meta_loss {losses[-1]:.4f}  alpha max {alpha.max().item():.4f}")

print(f"final_loss={sum(losses[-10:]) / 10}")
