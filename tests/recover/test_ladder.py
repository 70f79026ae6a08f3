"""The ladder's decisions on synthetic evidence (no torch)."""

from __future__ import annotations

import pytest

from nansentry.recover import Evidence, RecoveryConfig, decide

CFG = RecoveryConfig(max_rollbacks=3, escalate_after=3)
GOOD = dict(has_good_state=True, quarantine_room=100, clip_ready=True)


def kinds(plan) -> str:
    out = [name for name in ("skip", "clip", "rollback", "backoff") if getattr(plan, name)]
    out += ["quarantine"] if plan.quarantine else []
    return "stop" if plan.stop else "+".join(out)


@pytest.mark.parametrize("ev,expected", [
    (Evidence(step=5, phase="data", root_cause="dirty_data", bad_samples=(3, 9), **GOOD), "skip+quarantine"),
    (Evidence(step=5, phase="data", root_cause="dirty_data", **GOOD), "skip"),
    (Evidence(step=5, phase="data", root_cause="dirty_data", bad_samples=(3, 9), has_good_state=True,
              quarantine_room=1), "stop"),
    (Evidence(step=5, phase="backward", root_cause="exploding_gradients", **GOOD), "skip+clip+rollback"),
    (Evidence(step=5, phase="backward", root_cause="exploding_gradients", clip_ready=True), "skip+clip"),
    (Evidence(step=5, phase="backward", root_cause="exploding_gradients", clipping=True, **GOOD),
     "skip+rollback+backoff"),
    (Evidence(step=5, phase="loss", root_cause="learning_rate_too_high", **GOOD), "skip+clip+rollback+backoff"),
    (Evidence(step=1, phase="loss", root_cause="unscaled_data", **GOOD), "skip+rollback+backoff"),
    (Evidence(step=5, phase="loss", root_cause="fp16_overflow", diverging=True, **GOOD), "skip+rollback+backoff"),
    (Evidence(step=5, phase="loss", root_cause="log_of_zero", **GOOD), "skip"),
    (Evidence(step=5, phase="loss", root_cause="log_of_zero", in_row=4, **GOOD), "skip+rollback+backoff"),
    (Evidence(step=9, phase="loss", root_cause="log_of_zero", in_row=3, in_window=4, **GOOD), "skip+rollback+backoff"),
    (Evidence(step=9, phase="loss", root_cause="log_of_zero", soon_after_rollback=True, rollbacks=1, **GOOD),
     "skip+rollback+backoff"),
    (Evidence(step=9, phase="loss", root_cause="log_of_zero", soon_after_rollback=True, rollbacks=3, **GOOD), "skip"),
    (Evidence(step=5, phase="loss", root_cause="learning_rate_too_high", rollbacks=3, **GOOD), "stop"),
    (Evidence(step=5, phase="optimizer", root_cause="learning_rate_too_high", applied=True, **GOOD),
     "clip+rollback+backoff"),
    (Evidence(step=5, phase="optimizer", root_cause="division_by_zero", applied=True, quarantine_room=9), "stop"),
    (Evidence(step=5, phase="loss", root_cause="learning_rate_too_high", quarantine_room=9), "skip+backoff"),
], ids=["dirty-quarantine", "dirty-no-indices-skip", "quarantine-budget-stop", "exploding-rollback-clip", "exploding-no-state-clip",
        "exploding-clipped-rollback", "lr-rollback", "unscaled-rollback", "misdiagnosed-but-diverging",
        "code-bug-skip", "code-bug-escalates", "code-bug-recurs-escalates", "code-bug-after-rollback-escalates", "code-bug-budget-spent-skips", "rollback-budget-stop", "applied-rollback",
        "applied-without-state-stop", "no-state-backoff"])
def test_decide(ev, expected):
    assert kinds(decide(ev, CFG)) == expected


def test_code_bug_skip_says_it_is_not_a_fix():
    plan = decide(Evidence(step=1, phase="loss", root_cause="log_of_zero", **GOOD), CFG)
    assert "not a fix" in plan.reasons[0]


def test_samples_without_dataset_indices_are_skipped_and_the_reason_says_why():
    """An IterableDataset's batches (or hand-made ones) have positions but no indices to quarantine by."""
    plan = decide(Evidence(step=5, phase="data", root_cause="dirty_data", positions=(16, 17), **GOOD), CFG)
    assert kinds(plan) == "skip"
    assert "[16, 17]" in plan.reasons[0] and "cannot be quarantined" in plan.reasons[0]
    plan = decide(Evidence(step=5, phase="forward", root_cause="division_by_zero", positions=(4,), **GOOD), CFG)
    assert "cannot be quarantined" in plan.reasons[0] and "not a fix" in plan.reasons[0]
    plan = decide(Evidence(step=5, phase="data", root_cause="dirty_data", bad_samples=(3,), positions=(1,), **GOOD),
                  CFG)
    assert plan.quarantine == (3,)


def test_clip_for_exploding_gradients_and_a_too_large_step_only():
    assert decide(Evidence(step=5, phase="loss", root_cause="learning_rate_too_high", **GOOD), CFG).clip
    assert not decide(Evidence(step=5, phase="loss", root_cause="learning_rate_too_high", clipping=True, **GOOD),
                      CFG).clip  # already on: the threshold stays
    for cause in ("unscaled_data", "bad_initialization", "log_of_zero"):
        assert not decide(Evidence(step=5, phase="loss", root_cause=cause, in_row=4, **GOOD), CFG).clip
    assert decide(Evidence(step=5, phase="loss", root_cause="exploding_gradients", clipping=False,
                           has_good_state=True, clip_ready=False), CFG).rollback
