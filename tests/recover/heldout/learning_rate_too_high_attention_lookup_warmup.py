"""Single-query attention model for key-value lookup; the warm-up ramps SGD to a peak lr that is too high.

Each example is a set of 12 (key token, value) pairs plus a query token equal to one of
the keys; the target is twice the value stored under that key. The model embeds keys,
projects values, lets the query attend over the memory with nn.MultiheadAttention
(4 heads) and reads the answer out with a GELU MLP; MSE loss. Plain SGD, with the usual
transformer schedule: SequentialLR(LinearLR warm-up over 60 steps, then StepLR x0.3
every 60 steps), 200 steps in all.

The user set the peak lr to 0.5. The warm-up is fine at first, but once the lr passes
about 0.3 (step ~35) the updates of the read-out MLP overshoot, the predictions and the
loss grow geometrically and the loss overflows to inf at step 38, still inside the
warm-up; the gradients and all weights are nan from there on. The data are fine.

Fix (--clean): peak lr 0.1 with the same warm-up and decay; the model then learns the
lookup (loss from ~4.3 to a few hundredths).
"""
# recover-heldout: {"category": "learning_rate_too_high", "bad_samples": [], "nan_step": 38}
import argparse

import torch
from torch import nn

N_KEYS, N_PAIRS, DIM, BATCH = 16, 12, 32, 64
WARMUP, TOTAL_STEPS = 60, 200


class KeyValueReader(nn.Module):
    def __init__(self):
        super().__init__()
        self.key_emb = nn.Embedding(N_KEYS, DIM)
        self.value_proj = nn.Linear(1, DIM)
        self.query_emb = nn.Embedding(N_KEYS, DIM)
        self.attn = nn.MultiheadAttention(DIM, num_heads=4, batch_first=True)
        self.readout = nn.Sequential(nn.Linear(DIM, 64), nn.GELU(), nn.Linear(64, 1))

    def forward(self, keys, values, query):
        memory = self.key_emb(keys) + self.value_proj(values[..., None])
        q = self.query_emb(query)[:, None]
        out, _ = self.attn(q, memory, memory, need_weights=False)
        return self.readout(out[:, 0]).squeeze(1)


def make_batch(batch=BATCH):
    keys = torch.stack([torch.randperm(N_KEYS)[:N_PAIRS] for _ in range(batch)])
    values = torch.randn(batch, N_PAIRS)
    slot = torch.randint(0, N_PAIRS, (batch,))
    rows = torch.arange(batch)
    return keys, values, keys[rows, slot], 2.0 * values[rows, slot]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true", help="peak lr 0.1 instead of 0.5")
    args = parser.parse_args()
    torch.manual_seed(0)

    model = KeyValueReader()
    peak_lr = 0.1 if args.clean else 0.5
    opt = torch.optim.SGD(model.parameters(), lr=peak_lr)
    sched = torch.optim.lr_scheduler.SequentialLR(
        opt,
        [torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.02, total_iters=WARMUP),
         torch.optim.lr_scheduler.StepLR(opt, step_size=60, gamma=0.3)],
        milestones=[WARMUP],
    )
    loss_fn = nn.MSELoss()
    losses = []
    for step in range(TOTAL_STEPS):
        keys, values, query, target = make_batch()
        loss = loss_fn(model(keys, values, query), target)
        loss.backward()
        opt.step()
        opt.zero_grad()
        sched.step()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step} lr {sched.get_last_lr()[0]:.4f} loss {loss.item():.4f}")
    print(f"final_loss={sum(losses[-10:]) / 10}")


if __name__ == "__main__":
    main()
