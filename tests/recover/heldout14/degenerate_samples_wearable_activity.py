"""Activity recognition from smartwatch IMU windows pooled from two study cohorts.

Model: a small 1-D CNN over 64-sample windows of a 6-channel IMU signal
(3-axis accelerometer + 3-axis gyroscope at 32 Hz).  The forward pass first
standardises every channel of every window on its own (subtract the window's
mean, divide by the window's standard deviation), which removes the
different sensor gains of the two watch models, then Conv1d(6, 32, 5) ->
ReLU -> Conv1d(32, 32, 5, stride 2) -> ReLU -> global average pool ->
Linear(32, 5) over the activities sit / walk / run / stairs / cycle.
Cross-entropy loss, Adam (lr 2e-3), batch 32, 300 optimizer steps.

Data: two synthetic cohorts generated in-script - cohort A (1200 windows,
watch model 1) and cohort B (900 windows, watch model 2 with a 1.7x
accelerometer and 0.6x gyroscope gain) - joined with
torch.utils.data.ConcatDataset (2100 windows).  Each cohort Dataset's
__getitem__ applies training augmentation with torch random ops (random
amplitude scaling with torch.rand, a random circular time shift with
torch.randint + torch.roll, a random left/right-wrist sign flip of the x axes)
and returns a dict that also holds the subject id (a string such as "B-S07")
and the window start time in seconds (a Python int); a custom collate_fn
returns a `WindowBatch` namedtuple.  The DataLoader shuffles and runs
num_workers=2 with persistent_workers=True.

What goes wrong: in cohort B three windows (cohort-local indices 57, 402 and
733) were recorded while the watch's power-saving firmware had switched the
gyroscope off, so all three gyroscope channels read exactly 0.0 for the whole
window.  The values are finite and the accelerometer is fine, but the
per-window standardisation then computes (0 - 0) / 0 = NaN for those
channels (the augmentation only rescales and shifts, so the zeros stay
zeros).  The first batch holding one of them gives a NaN loss, backward fills
every gradient with NaN and Adam writes NaN into all weights; every later
loss is NaN too.  bad_samples below are indices into the ConcatDataset the
DataLoader is given (cohort B starts at 1200): 1257, 1602 and 1933.  Without
--clean the first non-finite loss is at step 21 (steps counted from 0).

--clean: the standardisation divides by (std + 1e-5), so a flat channel
becomes all zeros instead of NaN.  Data, augmentation, seed, optimizer and
number of steps are unchanged, and the run trains to a sensible loss.
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [1257, 1602, 1933], "nan_step": 21}

import argparse
import math
from collections import namedtuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import ConcatDataset, DataLoader, Dataset

WIN = 64
FS = 32.0
ACTIVITIES = ["sit", "walk", "run", "stairs", "cycle"]
# (step frequency Hz, accel amplitude g, gyro amplitude rad/s) per activity
PATTERNS = {0: (0.3, 0.02, 0.05), 1: (1.8, 0.35, 1.2), 2: (2.7, 1.1, 2.5), 3: (1.5, 0.5, 1.6), 4: (1.2, 0.15, 0.5)}

WindowBatch = namedtuple("WindowBatch", ["signal", "activity", "subjects", "start_s"])


class IMUCohort(Dataset):
    def __init__(self, name, n_windows, n_subjects, acc_gain, gyro_gain, gyro_off=(), seed=0):
        g = torch.Generator().manual_seed(seed)
        t = torch.arange(WIN, dtype=torch.float32) / FS
        labels = torch.randint(0, len(ACTIVITIES), (n_windows,), generator=g)
        subj = torch.randint(0, n_subjects, (n_windows,), generator=g)
        signals = torch.empty(n_windows, 6, WIN)
        for i in range(n_windows):
            f, a_amp, g_amp = PATTERNS[int(labels[i])]
            f = f * (0.85 + 0.3 * torch.rand(1, generator=g))
            phase = 6.283 * torch.rand(6, 1, generator=g)
            grav = F.normalize(torch.randn(3, generator=g) + torch.tensor([0.0, 0.0, 3.0]), dim=0)
            wave = torch.sin(2 * math.pi * f * t + phase)                     # (6, WIN)
            harm = 0.4 * torch.sin(4 * math.pi * f * t + 2 * phase)
            acc = grav.unsqueeze(1) + a_amp * (wave[:3] + harm[:3]) + 0.03 * torch.randn(3, WIN, generator=g)
            gyr = g_amp * wave[3:] + 0.04 * torch.randn(3, WIN, generator=g)
            signals[i, :3] = acc_gain * acc
            signals[i, 3:] = gyro_gain * gyr
        for i in gyro_off:
            signals[i, 3:] = 0.0        # gyroscope powered down by the firmware
        self.name = name
        self.signals = signals
        self.labels = labels
        self.subjects = [f"{name}-S{int(s):02d}" for s in subj]
        self.start_s = [int(v) for v in torch.randint(0, 7200, (n_windows,), generator=g)]

    def __len__(self):
        return self.signals.shape[0]

    def __getitem__(self, i):
        x = self.signals[i].clone()
        x = x * (0.8 + 0.4 * torch.rand(1))                          # amplitude scaling
        x = torch.roll(x, shifts=int(torch.randint(0, WIN, (1,))), dims=1)   # time shift
        if torch.rand(1) < 0.5:                                      # other wrist
            x[[0, 3]] = -x[[0, 3]]
        return {
            "signal": x,
            "activity": int(self.labels[i]),
            "subject": self.subjects[i],
            "start_s": self.start_s[i],
        }


def collate_windows(items):
    return WindowBatch(
        signal=torch.stack([it["signal"] for it in items]),
        activity=torch.tensor([it["activity"] for it in items], dtype=torch.long),
        subjects=[it["subject"] for it in items],
        start_s=[it["start_s"] for it in items],
    )


class ActivityCNN(nn.Module):
    def __init__(self, std_eps=0.0):
        super().__init__()
        self.std_eps = std_eps
        self.conv1 = nn.Conv1d(6, 32, 5, padding=2)
        self.conv2 = nn.Conv1d(32, 32, 5, stride=2, padding=2)
        self.fc = nn.Linear(32, len(ACTIVITIES))

    def forward(self, x):
        mu = x.mean(dim=2, keepdim=True)
        sd = x.std(dim=2, keepdim=True)
        x = (x - mu) / (sd + self.std_eps)       # per-window, per-channel standardisation
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        return self.fc(h.mean(dim=2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true",
                    help="add an epsilon to the per-window standard deviation")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(123)

    cohort_a = IMUCohort("A", 1200, 24, acc_gain=1.0, gyro_gain=1.0, seed=1)
    cohort_b = IMUCohort("B", 900, 18, acc_gain=1.7, gyro_gain=0.6, gyro_off=(57, 402, 733), seed=2)
    train_set = ConcatDataset([cohort_a, cohort_b])
    loader = DataLoader(train_set, batch_size=32, shuffle=True, drop_last=True,
                        num_workers=2, persistent_workers=True, collate_fn=collate_windows)

    model = ActivityCNN(std_eps=1e-5 if args.clean else 0.0)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)

    losses = []
    step = 0
    epoch = 0
    while step < args.steps:
        epoch += 1
        for batch in loader:
            if step >= args.steps:
                break
            logits = model(batch.signal)
            loss = F.cross_entropy(logits, batch.activity)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 25 == 0:
                print(f"epoch {epoch} step {step:4d} loss {loss.item():.4f}")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
