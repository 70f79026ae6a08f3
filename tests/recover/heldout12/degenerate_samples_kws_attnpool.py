"""Keyword spotting on log-mel frames with VAD-masked attention pooling.

Model: a frame encoder (Linear 20 -> 64, GELU, dropout, Linear 64 -> 64, GELU)
applied to every 10 ms log-mel frame, an attention-pooling layer that
averages only the frames the voice-activity detector (VAD) marked as speech
(padding / silence frames get a score of -inf before the softmax), and a
linear classifier over 10 keywords.  The model returns a tuple
(utterance_logits, frame_logits); the frame logits feed an auxiliary
frame-level cross-entropy on the voiced frames (weight 0.3).  AdamW
(lr 3e-3, weight decay 0.01) with CosineAnnealingLR over 150 optimizer
steps; each optimizer step accumulates gradients over 4 micro-batches of 16
clips.  An EMA copy of the weights (decay 0.98) is updated after every
optimizer step and evaluated (eval mode, torch.no_grad()) on a validation
set every 25 steps.  Training clips are drawn by a custom class-balanced
round-robin Sampler.

Data: 2400 training and 400 validation synthetic 1-second clips (40 frames x
20 log-mel bins).  Each keyword has its own spectro-temporal template that is
time-stretched over a random speech segment of 16-32 frames; the remaining
frames are low-level background noise.  The VAD mask is an energy threshold
on the mean log-mel energy of each frame.

What goes wrong: four training clips (indices in the header) were recorded
from a speaker far from the microphone, about 30 dB quieter.  Their values
are perfectly finite and they carry a valid label, but no frame passes the
energy threshold, so their VAD mask is all False.  For those clips every
attention score is -inf and softmax over an all -inf row is 0/0 = NaN, the
pooled vector, the logits and the loss become NaN, backward fills every
gradient with NaN and AdamW (and then the EMA) writes NaN into the weights.
Steps are counted in optimizer steps from 0; the first NaN loss / gradient
is at step 26 (in its third micro-batch, micro-batch 106 overall, counted
from 0) and every loss after it is NaN.

--clean: the masked positions are filled with the most negative finite float
(torch.finfo(dtype).min) instead of -inf, so an all-silent clip falls back to
a uniform average over its frames instead of NaN.  Everything else is
identical.
"""
# recover-heldout: {"category": "degenerate_samples", "bad_samples": [311, 1046, 1587, 2213], "nan_step": 26}

import argparse
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Sampler

N_CLASSES, N_MELS, N_FRAMES = 10, 20, 40
QUIET_CLIPS = [311, 1046, 1587, 2213]
VAD_THRESHOLD = -2.0


def make_templates(seed=0):
    g = torch.Generator().manual_seed(seed)
    # 6 "phone" segments per keyword, each a smooth spectral shape
    return 0.6 * torch.randn(N_CLASSES, N_MELS, 6, generator=g) + 1.0


def synth_clips(n, templates, seed, quiet=()):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, N_CLASSES, (n,), generator=g)
    feats = -4.0 + 0.3 * torch.randn(n, N_FRAMES, N_MELS, generator=g)   # background
    for i in range(n):
        length = int(torch.randint(16, 33, (1,), generator=g))
        start = int(torch.randint(0, N_FRAMES - length + 1, (1,), generator=g))
        tpl = F.interpolate(templates[labels[i]].unsqueeze(0), size=length, mode="linear",
                            align_corners=True)[0].T                      # (length, mels)
        speech = tpl + 2.0 * torch.randn(length, N_MELS, generator=g)
        if i in quiet:
            speech = speech - 6.9                                         # ~30 dB quieter
        feats[i, start:start + length] = torch.logaddexp(feats[i, start:start + length], speech)
    vad = feats.mean(dim=2) > VAD_THRESHOLD                               # (n, frames)
    return feats, vad, labels


class KeywordClips(Dataset):
    def __init__(self, feats, vad, labels):
        self.feats, self.vad, self.labels = feats, vad, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.feats[i], self.vad[i], self.labels[i]


class ClassBalancedSampler(Sampler):
    """Each epoch: shuffle every class's clips, then emit them round-robin."""

    def __init__(self, labels, seed=0):
        self.labels = labels
        self.seed = seed
        self.epoch = 0

    def __len__(self):
        return len(self.labels)

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        self.epoch += 1
        per_class = []
        for c in range(N_CLASSES):
            idx = (self.labels == c).nonzero().squeeze(1)
            per_class.append(idx[torch.randperm(len(idx), generator=g)].tolist())
        order = []
        longest = max(len(p) for p in per_class)
        for r in range(longest):
            for c in torch.randperm(N_CLASSES, generator=g).tolist():
                if r < len(per_class[c]):
                    order.append(per_class[c][r])
        return iter(order)


class AttnPoolKWS(nn.Module):
    def __init__(self, safe_mask=False, hidden=64):
        super().__init__()
        self.safe_mask = safe_mask
        self.encoder = nn.Sequential(
            nn.Linear(N_MELS, hidden), nn.GELU(), nn.Dropout(0.1),
            nn.Linear(hidden, hidden), nn.GELU(),
        )
        self.score = nn.Linear(hidden, 1)
        self.frame_head = nn.Linear(hidden, N_CLASSES)
        self.classifier = nn.Linear(hidden, N_CLASSES)

    def forward(self, feats, vad):
        h = self.encoder(feats)                                 # (B, T, H)
        scores = self.score(h).squeeze(-1)                      # (B, T)
        fill = torch.finfo(scores.dtype).min if self.safe_mask else float("-inf")
        scores = scores.masked_fill(~vad, fill)
        attn = torch.softmax(scores, dim=1)
        pooled = torch.einsum("bt,bth->bh", attn, h)
        return self.classifier(pooled), self.frame_head(h)


def kws_loss(logits, frame_logits, vad, labels):
    utt = F.cross_entropy(logits, labels)
    frame_ce = F.cross_entropy(frame_logits.transpose(1, 2), labels[:, None].expand_as(vad),
                               reduction="none")
    aux = (frame_ce * vad).sum() / vad.sum().clamp(min=1)
    return utt + 0.3 * aux


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true",
                    help="mask with finfo.min instead of -inf in attention pooling")
    ap.add_argument("--steps", type=int, default=150)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(7)

    templates = make_templates(seed=3)
    train_set = KeywordClips(*synth_clips(2400, templates, seed=100, quiet=QUIET_CLIPS))
    val_set = KeywordClips(*synth_clips(400, templates, seed=200))

    accum = 4
    loader = DataLoader(train_set, batch_size=16, sampler=ClassBalancedSampler(train_set.labels, seed=0),
                        drop_last=True)

    model = AttnPoolKWS(safe_mask=args.clean)
    ema = copy.deepcopy(model)
    ema.requires_grad_(False)
    ema_decay = 0.98
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.steps, eta_min=1e-4)

    losses = []
    step = 0
    micro = 0
    running = 0.0
    opt.zero_grad()
    while step < args.steps:
        for feats, vad, labels in loader:
            if step >= args.steps:
                break
            logits, frame_logits = model(feats, vad)
            loss = kws_loss(logits, frame_logits, vad, labels) / accum
            loss.backward()
            running += loss.item()
            micro += 1
            if micro % accum != 0:
                continue

            opt.step()
            opt.zero_grad()
            sched.step()
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.mul_(ema_decay).add_(pm, alpha=1 - ema_decay)
            losses.append(running)
            if step % 10 == 0:
                print(f"step {step:4d}  lr {sched.get_last_lr()[0]:.5f}  loss {running:.4f}")
            running = 0.0

            if (step + 1) % 25 == 0:
                ema.eval()
                with torch.no_grad():
                    v_logits, _ = ema(val_set.feats, val_set.vad)
                    v_loss = F.cross_entropy(v_logits, val_set.labels).item()
                    v_acc = (v_logits.argmax(1) == val_set.labels).float().mean().item()
                print(f"step {step:4d}  ema val_ce {v_loss:.4f}  val_acc {v_acc:.3f}")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
