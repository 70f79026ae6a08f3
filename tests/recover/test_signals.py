"""Trace shapes the recovery reads (no torch): a cliff is one jump from healthy steps, a
step size too large climbs over several."""

from __future__ import annotations

from types import SimpleNamespace as NS

from nansentry.recover.signals import above, cliff, diverging, exploding, improved, is_good, norm_led


def _recs(losses, norms):
    return [NS(step=i, loss=l, grad_norm=n, skipped=False, nonfinite=False)
            for i, (l, n) in enumerate(zip(losses, norms))]


NOISY = [1.0, 1.2, 0.9, 1.1, 0.95, 1.05, 1.0, 1.15, 0.9, 1.0, 1.1, 0.95]


def test_one_jump_from_healthy_steps_is_a_cliff():
    recs = _recs(NOISY + [5000.0], [3.0] * len(NOISY) + [3e6])
    assert cliff(recs) and exploding(recs) and diverging(recs)


def test_a_geometric_climb_is_not_a_cliff():
    """A step size too large: x2.5 a step, after a long descent whose median is far higher."""
    descent = [10.0 * 0.7 ** k for k in range(30)]
    climb = [descent[-1] * 2.5 ** k for k in range(1, 8)]
    recs = _recs(descent + climb, [1.0] * 30 + [2.5 ** (k / 2) for k in range(1, 8)])
    assert not cliff(recs)


def test_too_little_history_is_no_cliff():
    assert not cliff(_recs([1.0, 1.0, 500.0], [1.0, 1.0, 1e4]))


def test_is_good_flags_spikes_in_loss_or_norm():
    hist = _recs(NOISY, [1.0] * len(NOISY))
    assert is_good(_recs([1.3], [1.2])[0], hist)
    assert not is_good(_recs([5.0], [1.0])[0], hist)
    assert not is_good(_recs([1.0], [5.0])[0], hist)
    assert not is_good(_recs([float("nan")], [1.0])[0], hist)


def test_above_reads_a_negative_loss_on_its_own_scale():
    """A Poisson NLL without its constant sits near -14: -14.9 is better, not 10x above."""
    assert above(11.0, 1.0, 10.0) and not above(9.0, 1.0, 10.0)  # positive: value > factor x ref
    assert not above(-14.9, -14.5, 10.0) and not above(-1.0, -14.5, 10.0)
    assert above(1160.0, -13.95, 50.0) and not above(500.0, -13.95, 50.0)
    neg = _recs([v - 16.0 for v in NOISY], [1.0] * len(NOISY))
    assert is_good(_recs([-15.0], [1.0])[0], neg) and not is_good(_recs([60.0], [1.0])[0], neg)
    assert not diverging(neg + _recs([-13.0, -12.5, -12.0], [1.0] * 3))
    assert diverging(neg + _recs([-13.0, 40.0, 900.0], [1.0] * 3))


def test_improved_tells_a_run_that_learned_from_one_that_only_got_worse():
    learning = [1.0 * 0.95 ** k for k in range(30)]
    worse = [0.4 + 0.06 * k for k in range(30)]  # LISTA: 0.38 -> 2.2 before it blew up
    assert improved(_recs(learning, [1.0] * 30))
    assert not improved(_recs(worse, [1.0] * 30))
    assert improved(_recs(worse[:9], [1.0] * 9)), "too little history: not claimed to be stalled"


def test_a_blow_up_the_gradient_led_is_norm_led():
    """The unrolled distillation run: a 280x gradient under a calm loss (0.59 -> 0.78), then
    the loss followed over three steps; a climb of loss and norm together is not norm-led."""
    led = _recs(NOISY + [1.3, 1.6, 40.0, 5e15], [1.0] * len(NOISY) + [280.0, 5.6, 44.0, 3.8e18])
    assert norm_led(led) and exploding(led) and diverging(led) and not cliff(led)
    together = _recs(NOISY + [3.0, 9.0, 27.0, 81.0], [1.0] * len(NOISY) + [2.0, 4.0, 8.0, 16.0])
    assert not norm_led(together)
    loss_first = _recs(NOISY + [30.0, 900.0], [1.0] * len(NOISY) + [300.0, 1e5])  # the loss jumped with it
    assert not norm_led(loss_first)
    assert not norm_led(_recs(NOISY, [1.0] * len(NOISY)))  # healthy to the end
