"""Seed 004 ported: 3-layer LSTM (relu, relu, tanh cell activations), cosine-distance loss.

The post: LSTMCell(400, relu) x2 + LSTMCell(400, tanh), outputs and target embeddings
l2-normalised, cosine distance loss, Adam 1e-3; after 85 epochs the loss jumps then turns
NaN and all weights are NaN; the author suspects the l2-normalise of zero (padding)
vectors, the accepted fix is L2 regularisation. Port: a hand-written LSTM with relu
activations on g and on the cell output (unbounded: c = f*c + i*relu(g), h = o*relu(c)),
zero-padded positions normalised with F.normalize (eps: safe at 0, as TF's l2_normalize).
What this port really produces is what the author suspected: the loss normalises the
LSTM outputs with F.normalize, and some output vectors are (numerically) zero -- padded
steps emit zero vectors and dead relu cells give 0. The forward is finite (the eps clamp
protects the division) but the backward of the norm inside F.normalize yields NaN at
step 0 (LinalgVectorNormBackward0), and Adam spreads it to every weight. Cause
singular_gradient (norm at 0). Fix: normalise only the non-padded steps / mask before
normalising, or add eps inside the norm. (--clean: lr / 100, which does NOT help.)
"""
# nansentry-scenario: {"cause": "singular_gradient", "phase": "backward", "op": "linalg_vector_norm", "module": null, "samples": [], "recoverable": false, "heldout": false, "step": 0}
import argparse

import torch
import torch.nn.functional as F
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--clean", action="store_true", help="lr / 100")
args = parser.parse_args()
torch.manual_seed(0)
V, E, H, T = 50, 16, 32, 12


class ActLSTM(nn.Module):
    def __init__(self, d_in, d, act):
        super().__init__()
        self.ih, self.hh, self.act = nn.Linear(d_in, 4 * d), nn.Linear(d, 4 * d), act

    def forward(self, x, mask):
        h = c = x.new_zeros(x.shape[0], self.hh.in_features)
        out = []
        for t in range(x.shape[1]):
            i, f, g, o = (self.ih(x[:, t]) + self.hh(h)).chunk(4, 1)
            c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * self.act(g)
            h_new = torch.sigmoid(o) * self.act(c_new)
            m = mask[:, t:t + 1]
            c, h = m * c_new + (1 - m) * c, m * h_new + (1 - m) * h
            out.append(h_new * m)  # padded steps output zero vectors
        return torch.stack(out, 1)


class Seq2Emb(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([ActLSTM(E, H, torch.relu), ActLSTM(H, H, torch.relu),
                                     ActLSTM(H, E, torch.tanh)])

    def forward(self, x, mask):
        for layer in self.layers:
            x = layer(x, mask)
        return x


emb = torch.randn(V, E)
emb[0] = 0.0  # padding word: zero vector
x_id = torch.randint(1, V, (256, T))
seqlen = torch.randint(4, T + 1, (256,))
mask = (torch.arange(T)[None] < seqlen[:, None]).float()
x_id = x_id * mask.long()
y_id = torch.roll(x_id, -1, 1) * mask.long()

model = Seq2Emb()
opt = torch.optim.Adam(model.parameters(), lr=1e-4 if args.clean else 1e-2)
losses = []
for step in range(40):
    idx = torch.randint(0, 256, (32,))
    out = model(emb[x_id[idx]], mask[idx])
    cos = (F.normalize(out, dim=2) * F.normalize(emb[y_id[idx]], dim=2)).sum(2)  # EXPECT-NAN
    loss = ((1 - cos) * mask[idx]).sum() / mask[idx].sum()
    loss.backward()
    opt.step()
    opt.zero_grad()
    losses.append(loss.item())
    if step % 5 == 0:
        print(f"step {step} loss {loss.item():.4f}")
print(f"final_loss={sum(losses[-10:]) / 10}")
