"""The pages of `nansentry explain NS2xx`: what, why NaN, example, fix (one dict per rule)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "log_of_zero": dict(
        what="A log (log, log2, log10, log1p at -1, logit, xlogy, a CTC loss) whose input held an exact 0.",
        why="log(0) = -inf; the loss becomes inf and its gradient 1/x = inf turns into NaN (0 * inf) in the "
            "backward pass. Probabilities from softmax/sigmoid round to exactly 0 in float32 once a logit is ~100 "
            "below the largest, and an epsilon like 1e-10 added to 1 - p is rounded away (1 + 1e-10 == 1).",
        example="loss = -(y * torch.log(F.softmax(z, dim=1))).sum()   # z saturates -> softmax has 0s -> -inf",
        fix="Stay in log space: F.log_softmax(z, dim=1), F.logsigmoid(z), F.cross_entropy(z, y), "
            "F.binary_cross_entropy_with_logits(z, y). Do NOT clamp the input of log (log(p.clamp(min=1e-8))): the "
            "clamped entries get zero gradient, the loss becomes a fake constant and training silently stalls.",
    ),
    "invalid_domain": dict(
        what="An op evaluated outside its real domain: log or sqrt of a negative, acos/asin beyond ±1, atanh at "
             "or beyond ±1, lgamma at a pole, a negative base to a fractional power.",
        why="There is no real result, so IEEE arithmetic returns NaN, which then spreads through every op that "
            "reads it. The negative usually comes from rounding (E[x²] - E[x]², a cosine of 1.0000001) or a sign "
            "error.",
        example="std = torch.sqrt((x**2).mean() - x.mean()**2)   # rounds below 0 for a near-constant x",
        fix="Make the input valid by construction (torch.var, softplus/exp parametrisation, x.sign() * x.abs()**p); "
            "for acos/asin clamp the cosine to [-1 + 1e-6, 1 - 1e-6] or use nansentry.safe.acos / atan2; with "
            "torch.where, mask the input too (the double-where).",
    ),
    "division_by_zero": dict(
        what="x/0 or 0/0: normalising a zero vector, dividing by a zero std or an empty count, a softmax over a "
             "row fully masked with -inf, a mean over nothing, Adam with eps=0 (or 1e-8 rounded to 0 in float16).",
        why="x/0 = ±inf and 0/0 = NaN. A softmax over all -inf computes exp(-inf - (-inf)) = NaN; a cross-entropy "
            "whose targets are all ignore_index averages over 0 elements; Adam divides m by sqrt(v) + eps where "
            "v = 0 for a parameter that never got a gradient.",
        example="x = x / x.norm(dim=-1, keepdim=True)   # an all-zero row gives 0/0",
        fix="F.normalize(x, dim=-1) or nansentry.safe.normalize; divide by count.clamp(min=1) or std + 1e-5; "
            "nansentry.safe.masked_softmax for masked attention; nansentry.safe.div; eps=1e-8 (1e-4 in float16).",
    ),
    "singular_gradient": dict(
        what="An op whose forward value is finite but whose derivative is infinite at the input it got: sqrt, "
             "norm or pow(x, p<1) at 0, acos/asin at ±1, a division whose denominator underflows when squared.",
        why="The backward pass multiplies the incoming gradient by an infinite derivative (1 / (2 sqrt(0)) = inf), "
            "and 0 * inf = NaN; the loss looks fine while the parameters turn NaN after the update.",
        example="dist = torch.sqrt(((a - b) ** 2).sum(-1))   # a == b for some pair -> NaN gradient",
        fix="torch.linalg.vector_norm / F.normalize (zero subgradient at 0), nansentry.safe.sqrt / safe.norm / "
            "safe.acos, or move the input off the singular point (x + 1e-12); with torch.where use the double-where.",
    ),
    "exp_overflow": dict(
        what="exp (or expm1, exp2, cosh, sinh, pow) of an input too large for the dtype: above ~88.7 in float32 "
             "(709 in float64).",
        why="exp(89) > 3.4e38, the largest float32, so it becomes inf; inf / inf then gives NaN, e.g. in a "
            "softmax written as exp(x) / exp(x).sum().",
        example="p = torch.exp(z) / torch.exp(z).sum(1, keepdim=True)   # z reaches 100 -> inf/inf",
        fix="torch.softmax / F.log_softmax (they subtract the max), torch.logsumexp, F.softplus for log(1+exp(x)); "
            "in general exponentiate x - x.max() and carry the max in log space.",
    ),
    "fp16_overflow": dict(
        what="A value beyond float16's largest finite number, 65504, under model.half() or autocast(float16).",
        why="float16 has only 5 exponent bits: a matmul, a sum or an activation above 65504 becomes inf, and the "
            "next subtraction or normalisation turns it into NaN. Models trained in bfloat16 (e.g. T5) often "
            "overflow when run in float16.",
        example="with torch.autocast('cuda', dtype=torch.float16): h = x @ w   # |h| reaches 1e5 -> inf",
        fix="Use bfloat16 (float32's range), run the offending op in float32 (autocast(enabled=False) + .float()), "
            "use torch.amp.GradScaler for gradients, and keep activations normalised.",
    ),
    "dirty_data": dict(
        what="The batch itself is bad before any op runs: NaN/Inf in inputs or targets, an absurd outlier, a "
             "class label outside [0, num_classes).",
        why="NaN in the data propagates through every op; an out-of-range label indexes outside the logits. No "
            "change to the model can fix a bad record.",
        example="x = torch.tensor(df.values)   # a missing value parsed as NaN in row 137",
        fix="Find the listed samples (dataset indices in the report), repair or drop them, validate with "
            "torch.isfinite at load time, and use `nansentry run --recover auto` to quarantine them meanwhile.",
    ),
    "unscaled_data": dict(
        what="Inputs or targets on a scale far from 1 (raw 0-255 pixels, prices near 1e5) with a divergence at the "
             "very first steps.",
        why="Gradients scale with the inputs (and with the targets for a regression loss), so the first updates "
            "are orders of magnitude too large for any usual learning rate and the weights overshoot to inf.",
        example="loss = F.mse_loss(model(x), price)   # price ~ 1e5 -> loss 1e10 -> inf after 3 steps",
        fix="Normalise inputs (x / 255, (x - mean) / std from the training set), standardise regression targets, "
            "or normalise inside the model (BatchNorm/LayerNorm at the input).",
    ),
    "exploding_gradients": dict(
        what="The gradient norm grows by orders of magnitude over many steps while the loss is not diverging "
             "(typical of recurrent nets and very deep stacks).",
        why="Backpropagation multiplies by each layer's (or time step's) Jacobian; when those have norms > 1 the "
            "gradient grows geometrically until it overflows, or one huge update throws the weights to inf.",
        example="an RNN over 200 steps with a recurrent weight of spectral norm 1.3: grad norm 1e2 -> 1e12 -> inf",
        fix="Clip gradients (clip_grad_norm_ at max_norm 1.0, within 10x of the typical norm), use LSTM/GRU/LayerNorm or truncated BPTT, "
            "lower the learning rate; skip non-finite steps with `--recover skip`.",
    ),
    "learning_rate_too_high": dict(
        what="The first steps were healthy, then the loss rose step after step and the weights jumped "
             "(update-to-weight ratio far above ~1e-3) until a value overflowed.",
        why="Each update overshoots the minimum along a sharp direction, so the error grows geometrically; the "
            "weights and activations grow with it until something overflows or a softmax saturates.",
        example="optimizer = torch.optim.SGD(model.parameters(), lr=1.0)   # loss 2.3, 5.1, 40, 3e4, inf",
        fix="Lower the learning rate (the report names the largest step size that was still stable), add warmup, "
            "clip gradients.",
    ),
    "bad_initialization": dict(
        what="Activations or gradients are already orders of magnitude off at the first step(s), before any "
             "update, growing layer by layer with depth.",
        why="With weights of std much larger than 1/sqrt(fan_in), every layer multiplies the signal by a factor "
            "> 1, so a deep net's activations and gradients grow geometrically and overflow.",
        example="for m in model.modules(): nn.init.normal_(m.weight, std=1.0)   # 20 layers of width 512",
        fix="Use a fan-in scaled init (PyTorch's default, kaiming_normal_ for ReLU, xavier_uniform_ for tanh), add "
            "normalisation layers, scale residual branches.",
    ),
    "unknown": dict(
        what="A non-finite value none of the other rules can explain from the evidence recorded.",
        why="The failing op's inputs showed no edge (zeros, negatives, ±1, overflow) and the trace no divergence; "
            "or the replay of the failing step did not fail again (non-determinism, hardware, a race).",
        example="a NaN that appears once on a GPU and never when the step is replayed",
        fix="Save the report dir (`nansentry run --report DIR`) and look at the op and code line it names; rerun "
            "with the same seed; try `--recover skip` to see whether it is transient.",
    ),
}
