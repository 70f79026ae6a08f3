"""Character-level language model on plant maintenance logs: a near-identity ReLU RNN trained with SGD.

Model: characters are embedded (dim 24) and fed to a single-layer
nn.RNN with ReLU non-linearity and 128 hidden units; the recurrent matrix
is initialised IRNN-style to a scaled identity (0.93 * I, zero biases) so
that information can be carried across the 100-character windows, and a
linear head predicts the next character.  Loss: cross-entropy over every
position.  SGD with momentum 0.9, constant learning rate 0.05, batch 32,
300 steps, no gradient clipping.

Data: a 60k-character synthetic corpus generated in-script from a
word-level Markov chain over a small vocabulary of maintenance-log words
("pump", "valve", "pressure", "rising", "alarm", ...) with sentence breaks;
random 100-character windows are sampled each step.  Clean data.

What goes wrong: with a ReLU recurrence the gradient w.r.t. early time
steps is a product of ~100 Jacobians, so it explodes as soon as the
recurrent matrix's spectral radius exceeds 1.  Already at step 1 the
gradient norm spikes to ~1.6e3 (loss 23.8, grad norm 7 at step 0) and the
unclipped update throws the recurrent matrix far from identity (spectral
radius ~400 by step 10).  The ReLUs keep the hidden state in check for a
while and the loss creeps down (3.15 -> 2.88 at step 20, grad norm
~0.2-0.6), but at step 21 the gradient norm is ~10 again, at step 22 it
is ~1.3e7 (loss ~8.8e4) and that update throws weights to ~3e5, so at
step 23 (counted from 0) the recurrence overflows, the loss is NaN and
every gradient is NaN.  The parameters are NaN from then on, training
keeps going, and the run prints final_loss=nan.

--clean: adds torch.nn.utils.clip_grad_norm_(params, 1.0) before
optimizer.step() (nothing else changes).  The occasional gradient spikes
are cut to norm 1, the run stays finite and the loss falls from 3.15 to a
mean of ~0.67 nats/char over the last 20 steps.
"""
# recover-heldout: {"category": "exploding_gradients", "nan_step": 23}

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F

WORDS = ("the a sensor pump valve reads shows high low normal pressure flow level "
         "at in on station north south east west tank line is was rising falling steady "
         "alarm reset check report zero one two three four five").split()


def make_corpus(n_chars=60000, seed=3):
    g = torch.Generator().manual_seed(seed)
    n_words = len(WORDS)
    trans = torch.rand(n_words, n_words, generator=g) ** 4
    trans = trans / trans.sum(1, keepdim=True)
    w, out, n = 0, [], 0
    while n < n_chars:
        word = WORDS[w]
        out.append(word)
        n += len(word) + 1
        w = torch.multinomial(trans[w], 1, generator=g).item()
        if torch.rand(1, generator=g).item() < 0.1:
            out.append(".")
            n += 2
    text = " ".join(out)[:n_chars]
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    return torch.tensor([stoi[c] for c in text]), len(chars)


class CharRNN(nn.Module):
    def __init__(self, vocab, emb=24, hidden=128, recur_scale=0.93):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.rnn = nn.RNN(emb, hidden, nonlinearity="relu", batch_first=True)
        with torch.no_grad():
            self.rnn.weight_hh_l0.copy_(recur_scale * torch.eye(hidden))
            self.rnn.bias_hh_l0.zero_()
            self.rnn.bias_ih_l0.zero_()
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x):
        h, _ = self.rnn(self.emb(x))
        return self.head(h)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="clip the gradient norm to 1.0")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)

    data, vocab = make_corpus()
    model = CharRNN(vocab)
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9)
    steps, seq_len, batch = 300, 100, 32

    g = torch.Generator().manual_seed(1)
    losses = []
    for step in range(steps):
        starts = torch.randint(0, len(data) - seq_len - 1, (batch,), generator=g)
        x = torch.stack([data[s:s + seq_len] for s in starts])
        y = torch.stack([data[s + 1:s + seq_len + 1] for s in starts])
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        if args.clean:
            torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(loss.item())
        if step % 20 == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {loss.item():.4f}")

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
