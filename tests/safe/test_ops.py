"""nansentry.safe: finite value and gradient at each edge, the plain op's gradient elsewhere."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from nansentry import safe

Op = Callable[..., torch.Tensor]


def _grads(fn: Op, *inputs: torch.Tensor) -> list[torch.Tensor]:
    leaves = [t.clone().requires_grad_(True) for t in inputs]
    out = fn(*leaves)
    out.sum().backward()
    return [out.detach()] + [leaf.grad for leaf in leaves]


ZERO_VEC = torch.tensor([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]])
EDGES = [
    pytest.param(safe.log, (torch.tensor([0.0, 1e-45, 1.0]),), torch.log, id="log-at-0"),
    pytest.param(safe.sqrt, (torch.tensor([0.0, -1e-9, 4.0]),), torch.sqrt, id="sqrt-at-0"),
    pytest.param(lambda x: safe.norm(x), (ZERO_VEC,), lambda x: torch.sqrt((x * x).sum(-1)), id="norm-zero-vector"),
    pytest.param(lambda x: safe.normalize(x), (ZERO_VEC,), lambda x: x / x.norm(dim=-1, keepdim=True),
                 id="normalize-zero-vector"),
    pytest.param(lambda a, b: safe.cosine_similarity(a, b), (ZERO_VEC, torch.ones(2, 3)),
                 lambda a, b: (a * b).sum(-1) / (torch.sqrt((a * a).sum(-1)) * torch.sqrt((b * b).sum(-1))),
                 id="cosine-zero-vector"),
    pytest.param(safe.acos, (torch.tensor([-1.0, 1.0, 1.0000001]),), torch.acos, id="acos-at-1"),
    pytest.param(safe.div, (torch.tensor([1.0, 0.0, 3.0]), torch.tensor([0.0, 0.0, 2.0])),
                 torch.div, id="div-by-0"),
    pytest.param(lambda x: safe.masked_softmax(x, torch.tensor([[True, False], [False, False]])),
                 (torch.tensor([[1.0, 2.0], [3.0, 4.0]]),),
                 lambda x: torch.softmax(x.masked_fill(~torch.tensor([[True, False], [False, False]]), -torch.inf), -1),
                 id="masked-softmax-full-row"),
    pytest.param(lambda p: safe.cross_entropy_from_probs(p, torch.tensor([0, 1])),
                 (torch.tensor([[0.0, 1.0], [0.5, 0.5]]),),
                 lambda p: F.nll_loss(torch.log(p), torch.tensor([0, 1])), id="xent-exact-zero"),
]


@pytest.mark.parametrize(("op", "inputs", "plain"), EDGES)
def test_edge_is_finite_where_the_plain_op_is_not(op: Op, inputs: tuple, plain: Op) -> None:
    plain_results = _grads(plain, *inputs)
    assert not all(torch.isfinite(t).all() for t in plain_results), "not an edge for the plain op"
    for t in _grads(op, *inputs):
        assert torch.isfinite(t).all(), t


def _dbl(*shape: int, low: float = -1.0, high: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(sum(shape))
    return (torch.rand(*shape, generator=g, dtype=torch.float64) * (high - low) + low).requires_grad_(True)


MASK = torch.tensor([[True, False, True], [True, True, True]])
INTERIOR = [
    pytest.param(safe.log, torch.log, (_dbl(5, low=0.1, high=3.0),), id="log"),
    pytest.param(safe.sqrt, torch.sqrt, (_dbl(5, low=0.1, high=3.0),), id="sqrt"),
    pytest.param(safe.acos, torch.acos, (_dbl(5, low=-0.9, high=0.9),), id="acos"),
    pytest.param(safe.div, torch.div, (_dbl(5), _dbl(5, low=0.5, high=2.0)), id="div"),
    pytest.param(safe.norm, lambda x: torch.linalg.vector_norm(x, dim=-1), (_dbl(3, 4),), id="norm"),
    pytest.param(safe.normalize, lambda x: F.normalize(x, dim=-1), (_dbl(3, 4),), id="normalize"),
    pytest.param(safe.cosine_similarity, lambda a, b: F.cosine_similarity(a, b, dim=-1), (_dbl(3, 4), _dbl(3, 5)[:, :4]),
                 id="cosine_similarity"),
    pytest.param(lambda x: safe.masked_softmax(x, MASK),
                 lambda x: torch.softmax(x.masked_fill(~MASK, -torch.inf), -1), (_dbl(2, 3),), id="masked_softmax"),
    pytest.param(lambda p: safe.cross_entropy_from_probs(p, torch.tensor([2, 0])),
                 lambda p: F.nll_loss(torch.log(p), torch.tensor([2, 0])), (_dbl(2, 3, low=0.1, high=0.9),),
                 id="xent-index"),
    pytest.param(lambda p: safe.cross_entropy_from_probs(p, torch.tensor([[0.2, 0.8, 0.0]] * 2)),
                 lambda p: -(torch.tensor([[0.2, 0.8, 0.0]] * 2) * torch.log(p)).sum(1).mean(),
                 (_dbl(2, 3, low=0.1, high=0.9),), id="xent-distribution"),
]


@pytest.mark.parametrize(("op", "plain", "inputs"), INTERIOR)
def test_gradcheck_away_from_edges(op: Op, plain: Op, inputs: tuple) -> None:
    assert torch.autograd.gradcheck(op, inputs)


@pytest.mark.parametrize(("op", "plain", "inputs"), INTERIOR)
def test_value_and_gradient_equal_plain_op_away_from_edges(op: Op, plain: Op, inputs: tuple) -> None:
    ours = _grads(op, *[t.detach() for t in inputs])
    theirs = _grads(plain, *[t.detach() for t in inputs])
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b)


def test_clamped_log_has_dead_gradient_safe_log_does_not() -> None:
    """Seed 003: log(clip(y, 1e-8, 1)) is finite with gradient 0; safe.log pushes y up."""
    clamped = _grads(lambda y: torch.log(torch.clamp(y, 1e-8, 1.0)), torch.tensor([0.0]))[1]
    ours = _grads(safe.log, torch.tensor([0.0]))[1]
    assert clamped.item() == 0.0
    assert ours.item() > 0.0 and torch.isfinite(ours).all()


@pytest.mark.parametrize("x", [0.0, 1e-25, 1e-19])
def test_safe_log_is_continuous_and_increasing_below_eps(x: float) -> None:
    eps = safe.default_eps(torch.float32)
    lo, at = safe.log(torch.tensor([x])), safe.log(torch.tensor([eps]))
    assert lo.item() <= at.item()
    assert abs(safe.log(torch.tensor([eps * (1 - 1e-6)])).item() - at.item()) < 1e-4


def test_fully_masked_row_is_zeros_and_kept_rows_sum_to_one() -> None:
    out = safe.masked_softmax(torch.randn(3, 4), torch.tensor([[1, 1, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]]))
    assert out[1].abs().sum().item() == 0.0
    torch.testing.assert_close(out[[0, 2]].sum(-1), torch.ones(2))


def test_xent_from_probs_matches_cross_entropy_on_logits() -> None:
    logits, y = torch.randn(4, 5), torch.tensor([0, 3, 1, 4])
    torch.testing.assert_close(safe.cross_entropy_from_probs(torch.softmax(logits, 1), y), F.cross_entropy(logits, y))


def test_xent_rejects_unknown_reduction() -> None:
    with pytest.raises(ValueError, match="reduction='avg'"):
        safe.cross_entropy_from_probs(torch.ones(1, 2) / 2, torch.tensor([0]), reduction="avg")


def test_acos_gradient_at_edge_is_bounded_and_points_inward() -> None:
    grad = _grads(safe.acos, torch.tensor([1.0, -1.0]))[1]
    assert (grad < 0).all() and (grad.abs() < 1e4).all()
