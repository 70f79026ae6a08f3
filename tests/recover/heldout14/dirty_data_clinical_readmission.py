"""30-day hospital readmission prediction from discharge records with corrupted entries.

Model: a small two-branch network trained with Adam (lr 1e-3) and binary
cross-entropy with logits.  One branch is an MLP over 10 numeric discharge
features (age, sex, BMI, creatinine, haemoglobin, sodium, heart rate,
systolic blood pressure, log prior admissions, length of stay); the other is
a mean nn.EmbeddingBag over the record's diagnosis-group codes.  The two
are concatenated and fed to a 2-layer head that outputs the readmission
logit.  300 optimizer steps, batch 64.

Data: 3000 synthetic discharge records generated in-script.  The map-style
Dataset returns one dict per record that also holds non-tensor fields: the
patient id (a string such as "PT-004711"), the number of prior admissions (a
Python int) and the list of diagnosis-group codes (a list of strings such as
["I50", "N18"]).  A custom collate_fn turns these into a `DischargeBatch`
dataclass (code strings mapped to vocabulary ids with EmbeddingBag offsets,
ids kept as a list).  __getitem__ also applies a small measurement-noise
augmentation to the vital signs (torch.randn).  Training uses a random 80 %
train split of the records (torch.utils.data.Subset, 2400 records) served by
a shuffling DataLoader with num_workers=2 and persistent_workers=True.

What goes wrong: four records of the raw extract are corrupted.  Two have
their height recorded as 0 cm (the EHR's "not measured" code), so the BMI
computed in preprocessing is weight / 0**2 = +inf; one has a missing
creatinine lab (NaN) and one a missing sodium lab (NaN).  Nothing sanitises
the features, so the first batch that contains one of them gives a NaN loss,
backward fills every gradient with NaN and Adam writes NaN into all weights;
every later loss is NaN as well.  The corrupted records are underlying
records 455, 1210, 1858 and 2634 of the full 3000-record dataset;
bad_samples below are their positions in the train Subset (the dataset the
DataLoader is given, index space 0..2399): 2231, 1210, 865 and 198.  Without
--clean the first non-finite loss is at step 21 (steps counted from 0).

--clean: drops from the train split every record whose preprocessed features
are not all finite (exactly those four), the way one would after noticing
the missing labs and the zero heights.  Model, seed, optimizer and number of
steps are unchanged, and the run trains to a sensible loss.
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [198, 865, 1210, 2231], "nan_step": 21}

import argparse
import math
from dataclasses import dataclass
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Subset

N_RECORDS = 3000
TRAIN_FRAC = 0.8
DX_VOCAB = [
    "I10", "I21", "I48", "I50", "E11", "E66", "N17", "N18", "J44", "J18",
    "K70", "K92", "F10", "F32", "C34", "C50", "A41", "L89", "R55", "Z95",
]
DX_INDEX = {c: i for i, c in enumerate(DX_VOCAB)}
# Reference ranges used to scale the numeric features (fixed, not fitted).
FEATURE_CENTER = torch.tensor([60.0, 0.5, 27.0, 1.1, 13.0, 139.0, 80.0, 128.0, 1.0, 6.0])
FEATURE_SCALE = torch.tensor([18.0, 0.5, 5.0, 0.6, 1.8, 4.0, 14.0, 18.0, 0.6, 4.0])
VITALS = [6, 7]  # heart rate, systolic BP: augmented with measurement noise


class DischargeRecords(Dataset):
    """One synthetic hospital discharge record per index."""

    def __init__(self, n=N_RECORDS, seed=0):
        g = torch.Generator().manual_seed(seed)
        age = 25.0 + 65.0 * torch.rand(n, generator=g)
        sex = torch.randint(0, 2, (n,), generator=g).float()
        height_cm = 162.0 + 12.0 * sex + 8.0 * torch.randn(n, generator=g)
        weight_kg = (24.0 + 5.0 * torch.randn(n, generator=g)) * (height_cm / 100.0) ** 2
        creat = torch.exp(0.05 + 0.45 * torch.randn(n, generator=g)) * (1.0 + 0.006 * (age - 60.0))
        hb = 13.0 + 0.9 * sex - 1.0 * (creat - 1.1) + 1.5 * torch.randn(n, generator=g)
        sodium = 139.0 + 3.5 * torch.randn(n, generator=g)
        hr = 78.0 + 13.0 * torch.randn(n, generator=g)
        sbp = 126.0 + 0.3 * (age - 60.0) + 17.0 * torch.randn(n, generator=g)
        n_prior = torch.poisson(torch.full((n,), 1.2), generator=g).long()
        los = 1 + torch.poisson(4.0 + 0.05 * (age - 60.0).clamp(min=0), generator=g).long()

        # Diagnosis-group codes: 1-5 codes per record, some groups far riskier.
        n_codes = torch.randint(1, 6, (n,), generator=g)
        code_weights = torch.ones(len(DX_VOCAB))
        code_risk = torch.zeros(len(DX_VOCAB))
        for c, r in {"I50": 0.9, "N18": 0.7, "J44": 0.6, "C34": 0.8, "A41": 0.7, "K70": 0.5}.items():
            code_risk[DX_INDEX[c]] = r
            code_weights[DX_INDEX[c]] = 0.7
        dx_lists = []
        dx_risk = torch.zeros(n)
        for i in range(n):
            picks = torch.multinomial(code_weights, int(n_codes[i]), replacement=False, generator=g)
            dx_lists.append([DX_VOCAB[int(k)] for k in picks])
            dx_risk[i] = code_risk[picks].sum()

        # True outcome (from the follow-up table, independent of the extract).
        bmi_true = weight_kg / (height_cm / 100.0) ** 2
        logit = (-1.6 + 0.025 * (age - 60.0) + 0.9 * (creat - 1.1) - 0.25 * (hb - 13.0)
                 + 0.07 * (sodium - 139.0).abs() + 0.45 * n_prior.float() + 0.06 * (los.float() - 5.0)
                 + dx_risk + 0.03 * (bmi_true - 27.0).abs())
        readmitted = torch.bernoulli(torch.sigmoid(logit), generator=g)

        # ---- raw-extract corruption (EHR export) ----
        height_cm[455] = 0.0              # "not measured" coded as 0
        height_cm[1858] = 0.0
        creat[1210] = float("nan")        # creatinine not drawn
        sodium[2634] = float("nan")       # sodium not drawn

        # Preprocessing.
        bmi = weight_kg / (height_cm / 100.0) ** 2
        raw = torch.stack([age, sex, bmi, creat, hb, sodium, hr, sbp,
                           torch.log1p(n_prior.float()), los.float()], dim=1)
        self.x = (raw - FEATURE_CENTER) / FEATURE_SCALE
        self.y = readmitted
        self.patient_ids = [f"PT-{100000 + 37 * i:06d}" for i in range(n)]
        self.n_prior = [int(v) for v in n_prior]
        self.dx_codes = dx_lists

    def __len__(self):
        return self.x.shape[0]

    def __getitem__(self, i):
        x = self.x[i].clone()
        x[VITALS] += 0.05 * torch.randn(len(VITALS))   # measurement-noise augmentation
        return {
            "patient_id": self.patient_ids[i],
            "features": x,
            "n_prior": self.n_prior[i],
            "dx_codes": list(self.dx_codes[i]),
            "readmitted": self.y[i],
        }


@dataclass
class DischargeBatch:
    patient_ids: List[str]
    features: torch.Tensor
    dx_ids: torch.Tensor
    dx_offsets: torch.Tensor
    n_prior: torch.Tensor
    target: torch.Tensor


def collate_records(items):
    dx_ids, offsets = [], []
    for it in items:
        offsets.append(len(dx_ids))
        dx_ids.extend(DX_INDEX[c] for c in it["dx_codes"])
    return DischargeBatch(
        patient_ids=[it["patient_id"] for it in items],
        features=torch.stack([it["features"] for it in items]),
        dx_ids=torch.tensor(dx_ids, dtype=torch.long),
        dx_offsets=torch.tensor(offsets, dtype=torch.long),
        n_prior=torch.tensor([it["n_prior"] for it in items], dtype=torch.long),
        target=torch.stack([it["readmitted"] for it in items]),
    )


class ReadmissionNet(nn.Module):
    def __init__(self, n_num=10, n_codes=len(DX_VOCAB), d_code=16, hidden=64):
        super().__init__()
        self.num = nn.Sequential(nn.Linear(n_num, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.codes = nn.EmbeddingBag(n_codes, d_code, mode="mean")
        self.head = nn.Sequential(nn.Linear(hidden + d_code, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, batch: DischargeBatch):
        h = torch.cat([self.num(batch.features), self.codes(batch.dx_ids, batch.dx_offsets)], dim=1)
        return self.head(h).squeeze(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true",
                    help="drop records with non-finite features from the train split")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(2024)

    records = DischargeRecords(seed=11)
    perm = torch.randperm(len(records), generator=torch.Generator().manual_seed(5)).tolist()
    n_train = int(TRAIN_FRAC * len(records))
    train_idx = perm[:n_train]
    if args.clean:
        finite = torch.isfinite(records.x).all(dim=1)
        dropped = [i for i in train_idx if not finite[i]]
        train_idx = [i for i in train_idx if finite[i]]
        print(f"--clean: dropped {len(dropped)} records with missing/invalid values: {dropped}")
    train_set = Subset(records, train_idx)

    loader = DataLoader(train_set, batch_size=64, shuffle=True, drop_last=True,
                        num_workers=2, persistent_workers=True, collate_fn=collate_records)

    model = ReadmissionNet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    losses = []
    step = 0
    epoch = 0
    while step < args.steps:
        epoch += 1
        for batch in loader:
            if step >= args.steps:
                break
            logits = model(batch)
            loss = F.binary_cross_entropy_with_logits(logits, batch.target)
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
