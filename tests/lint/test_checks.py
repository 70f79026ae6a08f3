"""Each check on a snippet: the unsafe spelling is found, the safe idiom is not."""

from __future__ import annotations

import pytest

from nansentry.lint import lint_source

CASES = [
    # NS101 log-of-softmax
    ("p = F.softmax(z, 1)\nloss = -(y * torch.log(p)).sum()", {"NS101"}, "ns101-torch-through-variable"),
    ("loss = tf.reduce_sum(y_ * tf.log(tf.nn.softmax(h)))", {"NS101"}, "ns101-tf1-inline"),
    ("x = keras.ops.log(keras.activations.softmax(z))", {"NS101"}, "ns101-keras-ops"),
    ("x = z.softmax(-1).log()", {"NS101"}, "ns101-method-chain"),
    ("x = T.log(T.nnet.sigmoid(z))", {"NS101"}, "ns101-theano-sigmoid"),
    ("p = jax.nn.sigmoid(z)\nx = jnp.log(1 - p)", {"NS101"}, "ns101-jax-one-minus"),
    ("p = torch.sigmoid(z)\nx = torch.log(1e-10 + 1 - p)", {"NS101"}, "ns101-eps-absorbed"),
    ("def f(y_true, y_pred):\n    return -K.sum(y_true * K.log(y_pred))", {"NS101"}, "ns101-keras-param-name"),
    ("class M:\n    def __init__(s):\n        self.p = T.nnet.softmax(x)\n    def nll(self):\n"
     "        return T.log(self.p)", {"NS101"}, "ns101-self-attribute"),
    ("model = nn.Sequential(nn.Linear(4, 2), nn.Softmax(dim=1))\nl = torch.log(model(x))", {"NS101"},
     "ns101-sequential-softmax"),
    ("x = F.log_softmax(z, -1)", set(), "ns101-safe-log-softmax"),
    ("p = F.softmax(z, -1)\nx = torch.log(p + 1e-8)", set(), "ns101-safe-eps-guard"),
    ("x = math.log(2.0)", set(), "ns101-safe-math-log"),
    # NS102 clipped-log-input
    ("loss = tf.log(tf.clip_by_value(y, 1e-8, 1.0))", {"NS102"}, "ns102-seed-003"),
    ("p = p.clamp(min=1e-7)\nx = p.log()", {"NS102"}, "ns102-through-variable"),
    ("x = tf.math.log(tf.maximum(p, 1e-10))", {"NS102"}, "ns102-maximum"),
    # NS103 unguarded-division
    ("u = v / v.norm(dim=-1, keepdim=True)", {"NS103"}, "ns103-norm"),
    ("s = x.std(0)\nz = (x - x.mean(0)) / s", {"NS103"}, "ns103-std-variable"),
    ("m = tf.reduce_sum(l * mask) / tf.reduce_sum(mask)", {"NS103"}, "ns103-mask-count"),
    ("u = v / (v.norm(dim=-1, keepdim=True) + 1e-8)", set(), "ns103-safe-eps"),
    ("u = v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)", set(), "ns103-safe-clamp"),
    ("u = x / 255.0", set(), "ns103-safe-constant"),
    # NS104 unguarded-sqrt
    ("d = torch.sqrt(((a - b) ** 2).sum(-1))", {"NS104"}, "ns104-torch-hand-distance"),
    ("d = tf.reduce_sum(x ** 2) ** 0.5", {"NS104"}, "ns104-pow-half"),
    ("d = tf.norm(a - b)", {"NS104"}, "ns104-tf-norm-difference"),
    ("d = torch.sqrt(((a - b) ** 2).sum(-1) + 1e-12)", set(), "ns104-safe-eps"),
    ("d = torch.norm(a - b, dim=-1)", set(), "ns104-safe-torch-norm"),
    ("s = math.sqrt(d_k)", set(), "ns104-safe-scalar"),
    # NS105 exp-without-max
    ("e = torch.exp(x)\np = e / e.sum(-1, keepdim=True)", {"NS105"}, "ns105-hand-softmax"),
    ("l = torch.log(torch.exp(x).sum(-1))", {"NS105"}, "ns105-hand-logsumexp"),
    ("e = torch.exp(x - x.max(-1, keepdim=True).values)\np = e / e.sum(-1, keepdim=True)", set(),
     "ns105-safe-shifted"),
    # NS106 unclamped-acos
    ("a = torch.acos(F.cosine_similarity(u, v))", {"NS106"}, "ns106-acos"),
    ("a = c.clamp(-1, 1).acos()", {"NS106"}, "ns106-inclusive-clamp"),
    ("a = torch.acos(c.clamp(-1 + 1e-7, 1 - 1e-7))", set(), "ns106-safe-strict-clamp"),
    ("pi = math.acos(-1.0)", set(), "ns106-safe-math-constant"),
    # NS107 optimizer-eps-zero
    ("opt = optim.Adam(m.parameters(), lr=1e-3, eps=0)", {"NS107"}, "ns107-torch"),
    ("opt = tf.keras.optimizers.Adam(epsilon=0)", {"NS107"}, "ns107-keras"),
    ("opt = optim.Adam(m.parameters(), 1e-3)", set(), "ns107-safe-default"),
    # NS108 inf-mask-softmax
    ("s = s.masked_fill(pad, float('-inf'))\na = F.softmax(s, -1)", {"NS108"}, "ns108-masked-fill"),
    ("s = s.masked_fill(pad, torch.finfo(s.dtype).min)\na = F.softmax(s, -1)", set(), "ns108-safe-finfo"),
    ("s = s.masked_fill(torch.tril(o) == 0, float('-inf'))\na = F.softmax(s, -1)", set(), "ns108-safe-causal"),
    # NS109 relu-recurrent-cell
    ("c = tf.contrib.rnn.LSTMCell(400, activation=tf.nn.relu)", {"NS109"}, "ns109-tf1"),
    ("l = keras.layers.SimpleRNN(8, activation='relu')", {"NS109"}, "ns109-keras"),
    ("l = keras.layers.LSTM(8)", set(), "ns109-safe-default"),
    # NS110 half-without-loss-scaling
    ("m = Net().half()\nloss.backward()", {"NS110"}, "ns110-half"),
    ("m = Net().half()\nscaler.scale(loss).backward()", set(), "ns110-safe-scaler"),
    ("m = Net().half().eval()\ny = m(x)", set(), "ns110-safe-inference"),
    # NS111 where-unsafe-branch
    ("d = torch.where(s > 0, torch.sqrt(s), 0.0)", {"NS111"}, "ns111-sqrt"),
    ("d = torch.where(s > 0, torch.sqrt(torch.where(s > 0, s, 1.0)), 0.0)", set(), "ns111-safe-double-where"),
]


@pytest.mark.parametrize(("source", "codes"), [c[:2] for c in CASES], ids=[c[2] for c in CASES])
def test_check_finds_exactly_the_expected_codes(source: str, codes: set[str]) -> None:
    assert {f.code for f in lint_source(source)} == codes


@pytest.mark.parametrize(("source", "snippet"), [
    ("p = F.softmax(z, 1)\nloss = torch.log(p)", "torch.log(p)"),
    ("d = tf.norm(a - b, axis=1)", "tf.norm(a - b, axis=1)"),
    ("opt = optim.Adam(ps, eps=0)", "optim.Adam(ps, eps=0)"),
], ids=["log", "norm", "adam"])
def test_message_names_the_lines_own_expression(source: str, snippet: str) -> None:
    (f,) = lint_source(source)
    assert f"`{snippet}`" in f.message and f.fix


@pytest.mark.parametrize(("source", "fix"), [
    ("loss = torch.log(F.softmax(z, 1))", "F.log_softmax(z"),
    ("loss = tf.log(tf.nn.softmax(h))", "tf.nn.log_softmax(h)"),
    ("loss = T.log(T.nnet.softmax(h))", "T.nnet.logsoftmax(h)"),
    ("loss = torch.log(torch.sigmoid(z))", "F.logsigmoid(z)"),
    ("u = v / tf.norm(v, axis=-1)", "tf.nn.l2_normalize(v"),
], ids=["torch", "tf", "theano", "sigmoid", "l2-normalize"])
def test_fix_names_the_frameworks_safe_replacement(source: str, fix: str) -> None:
    (f,) = lint_source(source)
    assert fix in f.fix and "clip" not in f.fix
