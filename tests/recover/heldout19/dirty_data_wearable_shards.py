"""Human-activity recognition from wrist-worn accelerometer windows (1-D CNN).

Model: a small 1-D CNN over 3-axis accelerometer windows of 64 samples:
Conv1d(3, 32, 5) -> ReLU -> Conv1d(32, 64, 5, stride 2) -> ReLU ->
Conv1d(64, 64, 3) -> ReLU -> global average pool -> Linear(64, 6), trained
with cross-entropy over 6 activities (walk, run, stairs up, stairs down,
sit, lie).  Adam (lr 2e-3), StepLR(step_size=1, gamma=0.6) stepped once per
epoch, batch 32, 300 training steps in an epoch loop (100 steps per epoch).

Data: 4000 synthetic windows generated in-script (per-class gait
frequencies and gravity orientation plus sensor noise) and written at
start-up as 8 shards (one per recording subject) of .npy files into a
tempfile directory.  WearableShards is a map-style Dataset that loads a
shard's arrays on first use and caches them; __getitem__ applies random
augmentation with numpy's global RNG (amplitude scaling, Gaussian jitter,
random circular time shift).  The 4000 windows are split with
torch.utils.data.random_split (generator seed 42) into 3200 training and
800 validation windows.  The training DataLoader uses shuffle=True,
drop_last=True, num_workers=2 and a worker_init_fn that seeds numpy from
the worker's torch seed.

What goes wrong: four recorded windows are corrupt: three contain a run
of NaN on one axis (Bluetooth dropouts the logger filled with NaN) and one
contains +inf (a saturated ADC reading).  In the training subset produced
by random_split -- the Dataset the training DataLoader iterates -- they
are indices 1008, 1412, 1828 and 2233 (raw window ids 980, 611, 3901 and
2026; 2233 is the +inf one).  Training is normal (loss 1.8 -> ~0.3) until
step 50 (counted from 0), the first batch that contains one of them
(training index 1412): the logits and the loss are NaN, Adam turns every
parameter into NaN on that step, and the loss stays NaN for the rest of
the run (validation accuracy falls to chance).

--clean: keeps only training-subset indices whose raw window is finite
(np.isfinite) before building the DataLoader, i.e. drops the four corrupt
windows; nothing else changes.  The run then reaches a mean loss of ~0.03
over the last 20 steps (validation accuracy ~0.99).
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [1008, 1412, 1828, 2233], "nan_step": 50}

import argparse
import os
import shutil
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Subset, random_split

N_CLASSES = 6
WIN = 64
N_SUBJECTS = 8
PER_SUBJECT = 500
CORRUPT = {611: "nan", 980: "nan", 2026: "inf", 3901: "nan"}   # raw window id -> defect


def write_shards(root, seed=0):
    """Simulate 8 subjects x 500 windows and write one .npy pair per subject."""
    rng = np.random.default_rng(seed)
    freqs = np.array([1.8, 2.8, 1.5, 1.6, 0.0, 0.0])          # gait frequency (Hz)
    amps = np.array([0.6, 1.4, 0.8, 0.9, 0.05, 0.03])
    gravity = np.array([[0, 0, 1], [0, 0, 1], [0, 0.3, 0.95], [0, -0.3, 0.95],
                        [0.7, 0, 0.7], [1, 0, 0]], dtype=np.float64)
    t = np.arange(WIN) / 32.0                                  # 32 Hz sampling
    gid = 0
    for s in range(N_SUBJECTS):
        y = rng.integers(0, N_CLASSES, size=PER_SUBJECT)
        x = np.empty((PER_SUBJECT, 3, WIN), dtype=np.float32)
        subject_gain = rng.uniform(0.8, 1.2)
        for i, c in enumerate(y):
            f = freqs[c] * rng.uniform(0.8, 1.2)
            phase = rng.uniform(0, 2 * np.pi, size=3)
            sig = amps[c] * subject_gain * np.sin(2 * np.pi * f * t[None, :] + phase[:, None])
            sig += gravity[c][:, None] + 0.45 * rng.standard_normal((3, WIN))
            x[i] = sig
            if gid in CORRUPT:
                axis = rng.integers(0, 3)
                start = rng.integers(0, WIN - 10)
                x[i, axis, start:start + 10] = np.nan if CORRUPT[gid] == "nan" else np.inf
            gid += 1
        np.save(os.path.join(root, f"subject{s:02d}_x.npy"), x)
        np.save(os.path.join(root, f"subject{s:02d}_y.npy"), y.astype(np.int64))


class WearableShards(Dataset):
    def __init__(self, root, augment=True):
        self.root = root
        self.augment = augment
        self.shards = sorted(f[:-6] for f in os.listdir(root) if f.endswith("_x.npy"))
        self.sizes = [len(np.load(os.path.join(root, s + "_y.npy"), mmap_mode="r")) for s in self.shards]
        self.offsets = np.cumsum([0] + self.sizes)
        self._cache = {}

    def __len__(self):
        return int(self.offsets[-1])

    def _shard(self, k):
        if k not in self._cache:
            name = self.shards[k]
            self._cache[k] = (np.load(os.path.join(self.root, name + "_x.npy")),
                              np.load(os.path.join(self.root, name + "_y.npy")))
        return self._cache[k]

    def raw(self, idx):
        k = int(np.searchsorted(self.offsets, idx, side="right") - 1)
        x, y = self._shard(k)
        return x[idx - self.offsets[k]], int(y[idx - self.offsets[k]])

    def __getitem__(self, idx):
        x, y = self.raw(idx)
        x = x.copy()
        if self.augment:
            x = x * np.random.uniform(0.9, 1.1)
            x = x + np.random.normal(0.0, 0.02, size=x.shape)
            x = np.roll(x, np.random.randint(0, WIN), axis=1)
        return torch.from_numpy(x.astype(np.float32)), y


def seed_worker(worker_id):
    np.random.seed(torch.initial_seed() % 2**32)


class HARNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(3, 32, 5, padding=2)
        self.c2 = nn.Conv1d(32, 64, 5, stride=2, padding=2)
        self.c3 = nn.Conv1d(64, 64, 3, padding=1)
        self.fc = nn.Linear(64, N_CLASSES)

    def forward(self, x):
        x = F.relu(self.c1(x))
        x = F.relu(self.c2(x))
        x = F.relu(self.c3(x))
        return self.fc(x.mean(dim=2))


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    correct = total = 0
    for x, y in loader:
        correct += (model(x).argmax(1) == y).sum().item()
        total += len(y)
    model.train()
    return correct / total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="drop windows with non-finite readings")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)

    tmp = tempfile.mkdtemp(prefix="har_shards_")
    try:
        write_shards(tmp)
        full = WearableShards(tmp, augment=True)
        train_set, val_set = random_split(full, [3200, 800], generator=torch.Generator().manual_seed(42))
        val_set = Subset(WearableShards(tmp, augment=False), val_set.indices)

        if args.clean:
            keep = [i for i, j in enumerate(train_set.indices) if np.isfinite(full.raw(j)[0]).all()]
            print(f"dropping {len(train_set) - len(keep)} windows with non-finite values")
            train_set = Subset(train_set, keep)

        train_loader = DataLoader(train_set, batch_size=32, shuffle=True, drop_last=True,
                                  num_workers=2, worker_init_fn=seed_worker,
                                  generator=torch.Generator().manual_seed(1))
        val_loader = DataLoader(val_set, batch_size=200)

        model = HARNet()
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.6)

        losses = []
        step = 0
        for epoch in range(10):
            for x, y in train_loader:
                if step >= args.steps:
                    break
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
                if step % 20 == 0:
                    print(f"epoch {epoch} step {step:4d}  loss {loss.item():.4f}")
                step += 1
            sched.step()
            print(f"epoch {epoch} done  val_acc {evaluate(model, val_loader):.3f}  lr {sched.get_last_lr()[0]:.2e}")
            if step >= args.steps:
                break

        print(f"final_loss={sum(losses[-20:]) / 20}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
