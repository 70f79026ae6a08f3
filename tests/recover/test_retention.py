"""When good states are taken, which are kept, and which one a rollback picks (no torch)."""

from __future__ import annotations

from types import SimpleNamespace as NS

from nansentry.recover.retention import CONFIRM, Cadence, pick, retained


def test_retained_reaches_back_in_powers_of_two():
    for last in range(1, 300):
        kept = retained(list(range(last + 1)), keep=5)
        assert kept[0] == 0 and kept[-1] == last and len(kept) <= 5
        ages = [last - n for n in kept[1:]]
        assert min(ages) == 0 and (last < 8 or max(ages) >= 4)  # never only the last few
        assert all(a < 16 for a in ages)  # ... and never far back but the first
    assert retained([3, 7], keep=1) == [7]


def test_cadence_follows_the_measured_cost():
    c = Cadence(None, overhead=0.02)
    assert c.every([0.01]) == 1  # nothing measured yet: snapshot the first good step
    c.observe(0.0001)
    assert c.every([0.01, 0.01]) == 1  # 0.1 ms per snapshot, 10 ms per step: every step
    c.observe(0.02)
    assert c.every([0.01, 0.01]) == 1  # one slow snapshot (the machine was busy) changes nothing
    c = Cadence(None, overhead=0.02)
    c.observe(0.02)
    c.observe(0.021)
    assert c.every([0.01]) == 100  # 20 ms per snapshot: every 100 steps for 2%
    assert Cadence(7, overhead=0.02).every([1.0]) == 7


def _rec(step, loss=1.0, norm=1.0, bad=False):
    return NS(step=step, loss=loss, grad_norm=norm, nonfinite=bad)


def _state(step):
    return NS(step=step, future_from=step, ref_loss=1.0, ref_norm=1.0)


def test_pick_passes_over_states_taken_as_the_run_went_bad():
    states = [_state(0), _state(4), _state(8), _state(10)]
    recs = [_rec(s) for s in range(10)] + [_rec(10, norm=50.0), _rec(11), _rec(12, loss=float("inf"), bad=True)]
    # state 10: its future holds a norm spike; state 8: too few healthy steps before the spike
    assert pick(states, recs, event_step=12).step == 4
    assert pick(states, recs[:9], event_step=9).step == 4  # state 8 not yet trusted
    states[1].future_from = 9  # rolled back to state 4 at step 9: its new future is judged afresh
    assert pick(states[:2], recs, event_step=12).step == 0
    assert pick([_state(5)], recs, event_step=6).step == 5  # nothing trusted: the oldest there is
    assert CONFIRM == 3


def test_pick_returns_to_where_the_loss_was_much_lower():
    """Training made the run worse before it blew up: go back to where the loss was low."""
    old, mid, new = _state(0), _state(10), _state(20)
    old.ref_loss, mid.ref_loss, new.ref_loss = 0.3, 0.9, 1.0
    recs = [_rec(s, loss=1.0) for s in range(30)]
    assert pick([old, mid, new], recs, event_step=30) is old
    old.ref_loss = 0.6  # under 2/3 of it (heldout16's cyclic RMSprop: 2.4 before, 4.3 after its spikes)
    assert pick([old, mid, new], recs, event_step=30) is old
    old.ref_loss = 0.7  # not clearly better: keep the progress of the newest
    assert pick([old, mid, new], recs, event_step=30) is new


def test_pick_compares_negative_losses_by_sign():
    """A negative NLL: -18 is the lower loss, not the larger magnitude's opposite."""
    old, new = _state(0), _state(20)
    old.ref_loss, new.ref_loss = -30.0, -14.0
    recs = [_rec(s, loss=-14.0) for s in range(30)]
    assert pick([old, new], recs, event_step=30) is old  # much lower than the newest: -30 < -14 - 7
    old.ref_loss = -18.0
    assert pick([old, new], recs, event_step=30) is new  # lower, but not by a third of |-14|
    assert pick([old, new], recs, event_step=30, no_worse_than=-16.0) is old
    old.ref_loss = -12.0
    assert pick([old, new], recs, event_step=30, no_worse_than=-16.0) is new  # nothing that low


def test_pick_goes_back_to_the_oldest_state_with_no_progress_since():
    """Clipping turned on against exploding gradients: the unclipped steps since the oldest
    state whose loss the run never got below bought nothing, so that state is the target."""
    old, mid, new = _state(0), _state(10), _state(20)
    old.ref_loss, mid.ref_loss, new.ref_loss = 8.3, 9.0, 10.0
    recs = [_rec(s, loss=9.5) for s in range(30)]
    assert pick([old, mid, new], recs, event_step=30) is new  # without the bound: the newest
    assert pick([old, mid, new], recs, event_step=30, no_worse_than=9.5) is old
    old.ref_loss = 12.0  # the run did learn since step 0: the oldest state no worse than now
    assert pick([old, mid, new], recs, event_step=30, no_worse_than=9.5) is mid
    mid.ref_loss = 11.0
    assert pick([old, mid, new], recs, event_step=30, no_worse_than=9.5) is new  # nothing older is free
    old.future_from = 28  # not trusted (too few healthy steps after its last rollback): passed over
    old.ref_loss = 1.0
    assert pick([old, mid, new], recs, event_step=30, no_worse_than=9.5) is new
