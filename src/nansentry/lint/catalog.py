"""The lint rules: a stable code, a kebab-case name and the text `explain` prints.

Why: a code in a CI log is only useful if `nansentry explain NS101` says what was
found, why it turns into NaN, what it looks like and how to fix it. Codes never
change meaning; new checks get new codes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One lint check's identity and documentation."""

    code: str
    name: str
    what: str
    why: str
    example: str
    fix: str

    def explain(self) -> str:
        """The rule page: what it detects, why it yields NaN, an example, the fix."""
        example = "\n".join("    " + line for line in self.example.strip().splitlines())
        return (f"{self.code} {self.name}\n\nWhat it detects\n    {self.what}\n\n"
                f"Why it yields NaN\n    {self.why}\n\nExample\n{example}\n\nFix\n    {self.fix}\n")


RULES: tuple[Rule, ...] = (
    Rule("NS101", "log-of-softmax",
         "log of a softmax or sigmoid output (or of a value named as a probability, or of 1 - p), "
         "directly or through a variable: hand-written cross-entropy and binary cross-entropy.",
         "In float32 a saturated softmax/sigmoid returns exactly 0 (or 1, so 1 - p == 0). log(0) is "
         "-inf, 0 * -inf is NaN, and the gradient 1/p is infinite. An epsilon added to the 1 in "
         "log(1e-10 + 1 - p) is lost: 1e-10 + 1 == 1 in float32.",
         "probs = F.softmax(logits, dim=1)\nloss = -(y * torch.log(probs)).sum(1).mean()   # NS101",
         "Work in log space from the logits: F.log_softmax / F.cross_entropy, F.logsigmoid / "
         "F.binary_cross_entropy_with_logits, tf.nn.log_softmax / "
         "tf.nn.softmax_cross_entropy_with_logits, T.nnet.logsoftmax, jax.nn.log_softmax. "
         "When only probabilities exist, nansentry.safe.log(p) keeps the value "
         "and the gradient finite."),
    Rule("NS102", "clipped-log-input",
         "log of a clipped or clamped input: log(clip(y, 1e-8, 1)), log(y.clamp(min=eps)), "
         "log(maximum(y, eps)).",
         "The loss stops being NaN but becomes a fake loss: every element under the clip value "
         "gets a zero gradient, so the model is never pushed out of the saturated region and the "
         "loss value no longer tracks what the optimizer sees (the seed 003 trap).",
         "loss = -tf.reduce_sum(y_ * tf.log(tf.clip_by_value(y_conv, 1e-8, 1.0)))   # NS102",
         "Compute the loss from logits (log_softmax / *_with_logits). If only probabilities "
         "exist, use nansentry.safe.log(p): finite, and its gradient below eps is 1/eps, not 0."),
    Rule("NS103", "unguarded-division",
         "division by a norm, a standard deviation, a variance or its root, a count or sum of a "
         "mask, or the target of a relative error, with no epsilon.",
         "A zero vector has norm 0, a constant row has std 0, an empty mask has count 0, a zero "
         "target has relative error x/0: the forward is 0/0 = NaN or x/0 = inf, and the gradient "
         "of 1/d is infinite at d = 0.",
         "z = (x - x.mean(0)) / x.std(0)             # NS103\nu = v / v.norm(dim=-1, keepdim=True)   # NS103",
         "Add an epsilon (d + 1e-8) or clamp the denominator (d.clamp_min(1e-8)); F.normalize / "
         "tf.nn.l2_normalize for unit vectors; tf.math.divide_no_nan or nansentry.safe.div to "
         "define x/0 as 0."),
    Rule("NS104", "unguarded-sqrt",
         "sqrt, ** 0.5 or pow(., 0.5) of a sum of squares or a variance, and (TensorFlow, JAX, "
         "Keras, Theano) the norm of a difference: a distance that can be 0.",
         "d sqrt(s)/ds = 1/(2 sqrt(s)) is infinite at s = 0 (two identical points, a zero "
         "vector, a constant feature); multiplied by the zero gradient of the squares it gives "
         "0 * inf = NaN, which then spreads to every parameter.",
         "dist = torch.sqrt(((a - b) ** 2).sum(-1))   # NS104\ndist = tf.norm(a - b, axis=1)             # NS104",
         "Add an epsilon inside the root (sqrt(s + 1e-12)), use F.pairwise_distance, "
         "nansentry.safe.sqrt / nansentry.safe.norm (zero gradient at 0), or in PyTorch "
         "torch.linalg.vector_norm, whose gradient at 0 is 0."),
    Rule("NS105", "exp-without-max",
         "a hand-written softmax exp(x) / sum(exp(x)) or log-sum-exp log(sum(exp(x))) whose "
         "input is not shifted by its maximum.",
         "exp overflows for x > 88 in float32 (x > 11 in float16): inf / inf = NaN.",
         "e = torch.exp(logits)\np = e / e.sum(-1, keepdim=True)   # NS105",
         "Use the library softmax / logsumexp (torch.softmax, tf.nn.softmax, torch.logsumexp, "
         "tf.reduce_logsumexp), or subtract the max first: exp(x - x.max(-1, keepdim=True).values)."),
    Rule("NS106", "unclamped-acos",
         "acos / asin / arccos / arcsin of a value (a cosine) not clamped strictly inside (-1, 1).",
         "A computed cosine is 1.0000001 after rounding: acos is NaN outside [-1, 1], and at "
         "exactly +-1 its derivative -1/sqrt(1 - x^2) is infinite. Clamping to [-1, 1] fixes "
         "the forward, not the gradient.",
         "angle = torch.acos(F.cosine_similarity(a, b))   # NS106",
         "Clamp strictly inside: torch.acos(c.clamp(-1 + 1e-7, 1 - 1e-7)), or "
         "nansentry.safe.acos(c), whose gradient stays finite and non-zero at +-1."),
    Rule("NS107", "optimizer-eps-zero",
         "Adam, AdamW, Adamax, Nadam, RMSprop, Adagrad or Adadelta created with eps/epsilon = 0.",
         "The update is m / (sqrt(v) + eps); a parameter whose gradient has always been 0 has "
         "m = v = 0, so the step is 0/0 = NaN.",
         "opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=0)   # NS107",
         "Keep the default eps (1e-8 in PyTorch, 1e-7 in Keras); under float16 use 1e-4 or keep "
         "the optimizer state in float32."),
    Rule("NS108", "inf-mask-softmax",
         "a softmax over scores masked with -inf (masked_fill(mask, float('-inf')), "
         "where(mask, x, -inf), x[mask] = -inf), unless the mask is causal (tril/triu).",
         "A row whose every position is masked (an empty sequence, all padding) becomes all "
         "-inf: softmax computes exp(-inf - (-inf)) = exp(NaN), and the whole row is NaN.",
         "scores = scores.masked_fill(pad_mask, float('-inf'))\nattn = F.softmax(scores, dim=-1)   # NS108",
         "Mask with the dtype's lowest finite value, scores.masked_fill(mask, "
         "torch.finfo(scores.dtype).min), or use nansentry.safe.masked_softmax, which returns "
         "zeros for fully masked rows."),
    Rule("NS109", "relu-recurrent-cell",
         "an LSTM, GRU or simple RNN cell or layer with a relu (or other unbounded) activation: "
         "LSTMCell(n, activation=tf.nn.relu), LSTM(..., activation='relu'), "
         "nn.RNN(..., nonlinearity='relu').",
         "The recurrent state is multiplied by the same matrix at every time step; with an "
         "unbounded activation it can grow geometrically along the sequence until it overflows "
         "to inf and the loss becomes NaN, often after many epochs.",
         "cell = tf.contrib.rnn.LSTMCell(400, activation=tf.nn.relu)   # NS109",
         "Keep tanh (the default) for the cell activation; if relu is needed, clip gradients, "
         "add layer normalisation and initialise the recurrent matrix to the identity (IRNN)."),
    Rule("NS110", "half-without-loss-scaling",
         "a model or tensors cast to float16 (.half(), .to(torch.float16), autocast to float16) "
         "in a file that trains (calls backward) without a GradScaler or loss-scale optimizer.",
         "float16 tops out at 65504 and loses everything under 6e-8: activations overflow to "
         "inf, small gradients flush to 0, and Adam's eps of 1e-8 rounds to 0 (0/0 = NaN).",
         "model = Net().half()\nloss.backward()   # NS110 on the .half() line",
         "Keep weights in float32 and use torch.autocast with torch.amp.GradScaler "
         "(or keras LossScaleOptimizer), or train in bfloat16."),
    Rule("NS111", "where-unsafe-branch",
         "where(cond, f(x), y) where f is sqrt, log, a division or acos that is NaN or infinite "
         "exactly where cond is false.",
         "where picks the value but autograd differentiates both branches: the branch not taken "
         "still produces inf, and 0 * inf = NaN in its gradient. The loss looks fine while the "
         "parameters silently turn NaN.",
         "d = torch.where(s > 0, torch.sqrt(s), 0.0)   # NS111",
         "Make the input safe too (the double where): torch.where(s > 0, torch.sqrt("
         "torch.where(s > 0, s, 1.0)), 0.0), or nansentry.safe.sqrt / safe.log / safe.div."),
)

_BY_KEY = {key: rule for rule in RULES for key in (rule.code.lower(), rule.name)}


def find(code_or_name: str) -> Rule | None:
    """The rule for `NS101`, `ns101` or `log-of-softmax`; None when there is none."""
    return _BY_KEY.get(code_or_name.strip().lower())
