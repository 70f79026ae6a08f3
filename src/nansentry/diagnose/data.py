"""Rules for the data: dirty samples (NaN/Inf, labels out of range) and unscaled inputs.

Dirty data is bad before any op touches it (phase `data`, or a label outside the
class range); unscaled data is valid but on a scale (255, 1e5) that makes the first
updates overshoot, so it shows as an early divergence with a large batch max |x|.
"""

from __future__ import annotations

from nansentry.diagnose.fmt import fold, num, stats_line
from nansentry.diagnose.lines import keep, samples, trace_line, where
from nansentry.diagnose.rule import Context, Verdict, fix

UNSCALED = 1e2  # max |x| of a batch beyond which inputs are "far from 1"
OUTLIER = 1e3  # a batch this many times larger than the usual one is an outlier


def check_dirty_data(ctx: Context) -> Verdict | None:
    """NS207: the batch itself held NaN/Inf, an absurd outlier, or a label out of range."""
    f, s = ctx.finding, ctx.signals
    bad_stats = [x for x in (f.data_stats if f else ()) if x.n_nonfinite]
    if f is not None and f.label_out_of_range:
        conf, what = 0.92, "a label outside the class range"
    elif f is not None and f.phase == "data":
        conf, what = 0.95, "NaN/Inf in the batch before any op ran"
    elif bad_stats:
        conf, what = 0.85, "NaN/Inf in the batch"
    elif ctx.phase == "data" or s.batch_nonfinite:
        conf, what = 0.8, "NaN/Inf in the batch before any op ran"
    elif s.data_scale and s.data_scale_fail and s.n_pre >= 3 and s.data_scale_fail >= OUTLIER * s.data_scale:
        conf, what = 0.6, f"an outlier batch (max |x| {num(s.data_scale_fail)}, usually {num(s.data_scale)})"
    else:
        return None
    ev = keep(f"step {s.fail_step}: {what}" if s.fail_step is not None else what,
              *(f"data tensor {stats_line(x)}" for x in (f.data_stats if f else ())[:3] if x.n_nonfinite or x.n_beyond),
              "labels must lie in [0, num_classes) (or equal ignore_index)" if f is not None and f.label_out_of_range
              else None,
              where(ctx) if f is not None and f.phase != "data" else None, samples(ctx))
    bad = f.bad_samples if f is not None else ()
    fixes = []
    if bad:
        fixes.append(fix("remove or repair the samples", f"dataset indices {fold(bad)}: inspect `dataset[i]` for "
                         "each and fix the source (or drop them)"))
    if f is not None and f.label_out_of_range:
        fixes.append(fix("fix the label range", "check the label mapping and that the last layer's out_features "
                         "equals the number of classes"))
    fixes.append(fix("validate at load time", "check `torch.isfinite(x).all()` in `Dataset.__getitem__` (or the "
                     "preprocessing) and reject or repair bad records"))
    if f is not None and f.batch_positions and not bad:
        # positions without dataset indices: an IterableDataset or batches made by hand
        fixes.append(fix("filter the stream", "the batches carry no dataset indices (an `IterableDataset`, or "
                         "batches made by hand), so the samples cannot be quarantined by index: drop non-finite "
                         "rows where the stream is made (the dataset's `__iter__`)"))
    elif ctx.run.recover == "auto":  # this run already quarantined them: carry the list forward
        fixes.append(fix("reuse the quarantine", "this run excluded them; with `--report DIR` the list is saved "
                         "(DIR/quarantine.json): pass it to the next run, `nansentry run --quarantine FILE` or "
                         "`Guard(quarantine=FILE)`, to exclude them from the first step"))
    else:
        fixes.append(fix("quarantine while training", "run with `nansentry run --recover auto` to skip and "
                         "quarantine the offending samples"))
    summary = f"The data is bad: {what}" + (f" (samples {fold(bad, 4)})" if bad else "")
    return Verdict(conf, summary, ev, tuple(fixes))


def check_unscaled_data(ctx: Context) -> Verdict | None:
    """NS208: inputs/targets far from unit scale and a divergence at the very first steps."""
    s = ctx.signals
    scale = s.data_scale if s.data_scale is not None else s.first_batch
    if scale is None or scale < UNSCALED or s.batch_nonfinite or not s.has_event:
        return None
    if s.data_scale_fail and s.data_scale and s.data_scale_fail >= OUTLIER * s.data_scale:
        return None  # one outlier batch, not a scale problem
    early = s.early or (s.rise_start is not None and s.rise_start <= 2)
    conf = (0.8 if scale >= 1e3 else 0.7) if early else 0.3
    if early and s.first_loss is not None and s.first_loss >= 1e3:
        conf += 0.05
    if early and s.rise_start is not None and s.rise_start <= 1:
        conf += 0.05  # it diverged from the very first update
    if early and not (s.diverging or s.grad_orders >= 1 or (s.first_loss or 0) >= 1e2 or s.fail_step == 0
                      or (s.first_grad or 0) >= 1e2):
        conf -= 0.25  # large inputs, but nothing grew
    ev = keep(f"batch values reach {num(scale)} (max |x| per batch; unit-scale data is ~1-10)",
              f"the first non-finite value came at step {s.fail_step}, at the very start of training" if early else
              f"the first non-finite value came late, at step {s.fail_step}",
              f"the loss started at {num(s.first_loss)}" if s.first_loss is not None else None,
              trace_line(ctx))
    fixes = (fix("normalise the inputs", f"batch values reach {num(scale)}: scale them to unit range "
                 "(pixels `x / 255`, or `(x - mean) / std` with statistics from the training set)"),
             fix("standardise the targets", "for regression predict `(y - mean) / std` and undo it at inference"),
             fix("normalise inside the model", "or put a BatchNorm/LayerNorm right after the input"))
    return Verdict(round(min(conf, 0.85), 3), f"Inputs or targets are far from unit scale (up to {num(scale)}) and "
                   "the first updates blew up", ev, fixes)
