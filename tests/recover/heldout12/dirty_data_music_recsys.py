"""Music-streaming recommender: "will the user listen past 30 s?" click model.

Model: a small deep-and-wide click-through model.  User, track and genre
embeddings (16 / 16 / 4 dims) are concatenated with a projection of 6 dense
context features and fed to a 2-layer MLP that outputs one logit; trained
with BCE-with-logits.  Optimiser is Adagrad with two parameter groups (the
sparse embedding tables at lr 0.05, the dense tower at lr 0.01), batch 128,
300 optimizer steps.  Every 50 steps the model is evaluated (model.eval(),
torch.no_grad()) on a held-out split and a ReduceLROnPlateau scheduler steps
on that validation loss.

Data: 14000 synthetic listening events from 600 users and 900 tracks, with
context features computed in-script from raw log fields: hour of day
(sin/cos), session length, the fraction of tracks skipped so far in the
session (skips / tracks_played), log of the account age in days and the
track popularity.  The first 12000 events are the training set, the last
2000 the validation set.  Positives (listen > 30 s) are ~17% of the events,
so the training DataLoader (dict batches, num_workers=2, persistent workers)
draws events with a class-balancing WeightedRandomSampler.

What goes wrong: the feature pipeline divides by zero for a handful of raw
log rows.  Three events were logged at the very start of a session
(tracks_played = 0, skips = 0), so the skip ratio is 0/0 = NaN; two events
come from accounts created that same day (account age 0 days), so
log(account_age) = -inf; one event has a NaN session length (the client
crashed before the session-end ping).  Nothing checks the features, so the
first time one of these six training rows is drawn into a mini-batch the
forward pass yields a NaN logit, the loss and every gradient are NaN and
Adagrad writes NaN into all weights; the loss stays NaN to the end.  With
the seed below this first happens at step 66 (counted from 0).

--clean: drops the training rows whose dense features are not all finite
(exactly the six rows listed in the header) before building the sampler;
everything else is unchanged and the model trains to a sensible BCE.
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [1733, 2960, 4407, 6251, 8818, 10592], "nan_step": 66}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

N_USERS, N_TRACKS, N_GENRES = 600, 900, 12
N_EVENTS, N_TRAIN = 14000, 12000


def make_events(seed=0):
    g = torch.Generator().manual_seed(seed)
    n = N_EVENTS
    user = torch.randint(0, N_USERS, (n,), generator=g)
    track = torch.randint(0, N_TRACKS, (n,), generator=g)
    track_genre = torch.randint(0, N_GENRES, (N_TRACKS,), generator=g)
    genre = track_genre[track]

    # raw log fields
    hour = torch.randint(0, 24, (n,), generator=g).float()
    u1, u2 = torch.rand(n, generator=g), torch.rand(n, generator=g)
    session_min = -torch.log(u1 * u2) / 0.08                    # Gamma(2, 0.08) minutes
    tracks_played = torch.poisson(session_min / 3.5, generator=g).clamp(min=1.0)
    skips = torch.binomial(tracks_played, torch.full((n,), 0.3), generator=g)
    account_days = torch.randint(1, 2000, (n,), generator=g).float()
    popularity = torch.rand(N_TRACKS, generator=g)[track]

    # raw-log faults (see module docstring)
    for i in (1733, 6251, 10592):          # event logged at session start
        tracks_played[i] = 0.0
        skips[i] = 0.0
    for i in (2960, 8818):                 # account created the same day
        account_days[i] = 0.0
    session_min[4407] = float("nan")       # session-end ping never arrived

    # feature pipeline
    dense = torch.stack([
        torch.sin(2 * math.pi * hour / 24), torch.cos(2 * math.pi * hour / 24),
        (session_min - 25.0) / 20.0,
        skips / tracks_played,
        (torch.log(account_days) - 6.0) / 1.5,
        popularity,
    ], dim=1)

    # ground-truth listening propensity
    u_taste = torch.randn(N_USERS, N_GENRES, generator=g)
    t_quality = 0.8 * torch.randn(N_TRACKS, generator=g)
    logit = (1.2 * u_taste[user, genre] + t_quality[track] + 1.5 * popularity
             - 2.0 * (skips / tracks_played.clamp(min=1)) + 0.3 * torch.cos(2 * math.pi * hour / 24) - 2.4)
    label = (torch.rand(n, generator=g) < torch.sigmoid(logit)).float()
    return user, track, genre, dense, label


class ListeningEvents(Dataset):
    def __init__(self, user, track, genre, dense, label):
        self.user, self.track, self.genre = user, track, genre
        self.dense, self.label = dense, label

    def __len__(self):
        return len(self.label)

    def __getitem__(self, i):
        return {"user": self.user[i], "track": self.track[i], "genre": self.genre[i],
                "dense": self.dense[i], "label": self.label[i]}


class WideDeepCTR(nn.Module):
    def __init__(self):
        super().__init__()
        self.user_emb = nn.Embedding(N_USERS, 16)
        self.track_emb = nn.Embedding(N_TRACKS, 16)
        self.genre_emb = nn.Embedding(N_GENRES, 4)
        self.dense_proj = nn.Linear(6, 16)
        self.tower = nn.Sequential(nn.Linear(52, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, batch):
        h = torch.cat([self.user_emb(batch["user"]), self.track_emb(batch["track"]),
                       self.genre_emb(batch["genre"]), F.relu(self.dense_proj(batch["dense"]))], dim=1)
        return self.tower(h).squeeze(1)


def evaluate(model, val_set):
    model.eval()
    with torch.no_grad():
        batch = {k: getattr(val_set, k) for k in ("user", "track", "genre", "dense")}
        loss = F.binary_cross_entropy_with_logits(model(batch), val_set.label)
    model.train()
    return loss.item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true",
                    help="drop training rows with non-finite dense features")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(2024)

    user, track, genre, dense, label = make_events(seed=11)
    tr = slice(0, N_TRAIN)
    va = slice(N_TRAIN, N_EVENTS)
    train_cols = [user[tr], track[tr], genre[tr], dense[tr], label[tr]]
    if args.clean:
        keep = torch.isfinite(train_cols[3]).all(dim=1)
        print(f"--clean: dropping {int((~keep).sum())} training rows with non-finite features")
        train_cols = [c[keep] for c in train_cols]
    train_set = ListeningEvents(*train_cols)
    val_set = ListeningEvents(user[va], track[va], genre[va], dense[va], label[va])

    pos_frac = train_set.label.mean()
    weights = torch.where(train_set.label > 0, 0.5 / pos_frac, 0.5 / (1 - pos_frac)).double()
    sampler = WeightedRandomSampler(weights, num_samples=len(train_set), replacement=True)
    loader = DataLoader(train_set, batch_size=128, sampler=sampler, num_workers=2,
                        persistent_workers=True, drop_last=True)

    model = WideDeepCTR()
    emb_params = [p for n, p in model.named_parameters() if n.endswith("_emb.weight")]
    dense_params = [p for n, p in model.named_parameters() if not n.endswith("_emb.weight")]
    opt = torch.optim.Adagrad([
        {"params": emb_params, "lr": 0.05},
        {"params": dense_params, "lr": 0.01},
    ])
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)

    losses = []
    step = 0
    while step < args.steps:
        for batch in loader:
            if step >= args.steps:
                break
            logits = model(batch)
            loss = F.binary_cross_entropy_with_logits(logits, batch["label"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 25 == 0:
                print(f"step {step:4d}  loss {loss.item():.4f}")
            if (step + 1) % 50 == 0:
                val_loss = evaluate(model, val_set)
                plateau.step(val_loss)
                lrs = ", ".join(f"{pg['lr']:.4f}" for pg in opt.param_groups)
                print(f"step {step:4d}  val_bce {val_loss:.4f}  lrs [{lrs}]")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
