"""Op names, code-line rewriting, trace signals and number formatting."""

from __future__ import annotations

import pytest
from tests.diagnose.synth import CASES, healthy

from nansentry.diagnose import read_signals
from nansentry.diagnose.code import log_rewrite, lost_epsilon
from nansentry.diagnose.fmt import fold, num
from nansentry.diagnose.ops import canonical
from nansentry.records import RunInfo


@pytest.mark.parametrize("raw,name", [
    ("aten::_foreach_addcdiv_.Scalar", "addcdiv"), ("SqrtBackward0", "sqrt"), ("div_", "div"),
    ("LinalgVectorNormBackward0", "linalg_vector_norm"), ("_softmax", "_softmax"), ("aten::log.out", "log"),
    ("", ""), (None, ""),
], ids=str)
def test_canonical(raw: str, name: str) -> None:
    assert canonical(raw) == name


@pytest.mark.parametrize("code,expected", [
    ("loss = -(y * torch.log(F.softmax(z, dim=1))).sum()", ("torch.log(F.softmax(z, dim=1))", "F.log_softmax(z, dim=1)")),
    ("torch.log(torch.sigmoid(x))", ("torch.log(torch.sigmoid(x))", "F.logsigmoid(x)")),
    ("l = torch.log(1 - torch.sigmoid(a + b))", ("torch.log(1 - torch.sigmoid(a + b))", "F.logsigmoid(-(a + b))")),
    ("p = F.softmax(z, 1).log()", ("F.softmax(z, 1).log()", "F.log_softmax(z, 1)")),
    ("torch.log(z.softmax(-1))", ("torch.log(z.softmax(-1))", "F.log_softmax(z, -1)")),
    ("torch.log(1 - p)", None),
    ("x.log()", None),
    (None, None),
], ids=["softmax", "sigmoid", "one-minus-sigmoid", "method-log", "method-softmax", "plain", "bare", "none"])
def test_log_rewrite(code: str | None, expected: tuple[str, str] | None) -> None:
    assert log_rewrite(code) == expected


def test_lost_epsilon() -> None:
    assert lost_epsilon("torch.log(1e-10 + 1 - p)") == "1e-10"
    assert lost_epsilon("torch.log(p + 1e-3)") is None


def test_signals_of_a_divergence() -> None:
    c = CASES["lr_too_high"]()
    s = read_signals(c.records, c.finding, c.run)
    assert s.fail_step == 15 and s.n_pre == 15
    assert s.rise_run == 4 and s.rise_factor > 100
    assert s.diverging == 1.0
    assert s.param_jump == pytest.approx(1.8)


def test_signals_of_bad_init_depth_ramp() -> None:
    c = CASES["bad_init_deep"]()
    s = read_signals(c.records, c.finding, c.run)
    assert s.depth_orders == pytest.approx(4.2)
    assert s.depth_toward_input
    assert s.first_grad == 4.2e7


def test_healthy_signals_are_quiet() -> None:
    s = read_signals(healthy(100), None, RunInfo())
    assert not s.has_event and s.fail_step is None
    assert s.diverging == 0.0 and s.grad_orders < 1 and s.depth_orders == 0.0


@pytest.mark.parametrize("x,text", [(4.1, "4.1"), (0.003, "0.003"), (123456.0, "1.2e5"), (1e-5, "1e-5"),
                                    (float("nan"), "nan"), (None, "?"), (0.0, "0")])
def test_num(x: float | None, text: str) -> None:
    assert num(x) == text


def test_fold() -> None:
    assert fold(range(46)) == "0, 1, 2, 3, 4, 5, … (+40 more)"
    assert fold([137, 555]) == "137, 555"
