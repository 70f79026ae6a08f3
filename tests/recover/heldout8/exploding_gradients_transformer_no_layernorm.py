"""Character-level transformer language model without LayerNorm, trained with SGD.

Model: a 4-layer causal transformer (d_model 64, 4 heads, ReLU MLPs, learned positional
embeddings) with all LayerNorms removed (plain residual blocks x + attn(x), x + mlp(x),
no final norm), trained on next-character prediction over synthetic English-like
sentences from a small grammar. SGD with momentum 0.9 and a linear learning-rate
warm-up to 0.4 over the first 100 steps, cross-entropy loss.

What goes wrong: the loss falls normally during the warm-up (3.39 -> ~0.77 at step 100),
but without normalisation nothing bounds the residual stream. Shortly after the peak
learning rate is reached, an overshooting step inflates the residual activations
(rms ~1.5 -> 3 -> ~400 within three steps), which inflates the next gradient: the
gradient norm goes ~1.5 -> 8 -> 3e1 -> 1e4 over steps 105-112. That last unclipped
update throws the weights away (weight norm ~53 -> ~4e3) and the loss is NaN from
step 113. The loop keeps running and the loss stays NaN until the end.

--clean: clip the global gradient norm to 1.0 with torch.nn.utils.clip_grad_norm_
before every optimizer step (standard for transformer training). Seed, data,
learning-rate schedule and number of steps are unchanged; the model trains smoothly
and the loss goes from ~3.39 to ~0.33.
"""
# recover-heldout: {"category": "exploding_gradients", "bad_samples": [], "nan_step": 113}
import argparse
import math
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="clip gradient norm to 1.0")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

torch.manual_seed(args.seed)
torch.set_num_threads(1)
rng = random.Random(args.seed)
gen = torch.Generator().manual_seed(args.seed)

# model / training
D_MODEL = 64
N_HEADS = 4
N_LAYERS = 4
CONTEXT = 32
BATCH = 32
STEPS = 300
PEAK_LR = 0.4
WARMUP = 100
MOMENTUM = 0.9
CLIP = 1.0

# ---- synthetic corpus from a tiny grammar ----
SUBJECTS = ["the cat", "a dog", "my aunt", "the old man", "a bird", "the robot"]
VERBS = ["sees", "likes", "eats", "chases", "finds", "builds"]
OBJECTS = ["the fish", "a red ball", "the moon", "some bread", "a small box", "the garden"]
ADVERBS = ["today", "slowly", "again", "at night", "with joy"]

sentences = []
for _ in range(4000):
    s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    if rng.random() < 0.5:
        s += " " + rng.choice(ADVERBS)
    sentences.append(s + ". ")
text = "".join(sentences)
chars = sorted(set(text))
VOCAB = len(chars)
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text])


def get_batch():
    ix = torch.randint(0, len(data) - CONTEXT - 1, (BATCH,), generator=gen)
    x = torch.stack([data[i:i + CONTEXT] for i in ix])
    y = torch.stack([data[i + 1:i + CONTEXT + 1] for i in ix])
    return x, y


class Block(nn.Module):
    """Transformer block with the LayerNorms removed."""

    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(D_MODEL, 3 * D_MODEL)
        self.proj = nn.Linear(D_MODEL, D_MODEL)
        self.fc1 = nn.Linear(D_MODEL, 4 * D_MODEL)
        self.fc2 = nn.Linear(4 * D_MODEL, D_MODEL)
        self.register_buffer(
            "mask", torch.triu(torch.ones(CONTEXT, CONTEXT, dtype=torch.bool), 1))

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, N_HEADS, D_MODEL // N_HEADS).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(D_MODEL // N_HEADS)
        att = att.masked_fill(self.mask[:t, :t], float("-inf")).softmax(-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, D_MODEL))
        x = x + self.fc2(F.relu(self.fc1(x)))
        return x


class TinyLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, D_MODEL)
        self.pos = nn.Parameter(0.02 * torch.randn(CONTEXT, D_MODEL))
        self.blocks = nn.Sequential(*[Block() for _ in range(N_LAYERS)])
        self.head = nn.Linear(D_MODEL, VOCAB)

    def forward(self, x):
        return self.head(self.blocks(self.tok(x) + self.pos[: x.shape[1]]))


model = TinyLM()
opt = torch.optim.SGD(model.parameters(), lr=PEAK_LR, momentum=MOMENTUM)

losses = []
t0 = time.time()
for step in range(STEPS):
    x, y = get_batch()
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))

    opt.zero_grad()
    loss.backward()
    if args.clean:
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
    else:
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
    for group in opt.param_groups:
        group["lr"] = PEAK_LR * min(1.0, (step + 1) / WARMUP)
    opt.step()

    losses.append(loss.item())
    if step % 20 == 0 or step == STEPS - 1:
        print(f"step {step:4d}  loss {loss.item():.4f}  grad_norm {grad_norm.item():.3e}  "
              f"lr {opt.param_groups[0]['lr']:.3f}")

print(f"time {time.time() - t0:.1f}s")
print(f"final_loss={sum(losses[-20:]) / 20}")
