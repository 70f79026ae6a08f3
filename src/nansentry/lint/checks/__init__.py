"""The lint checks, in code order: each takes a `Context` and yields `Finding`s.

Why a flat registry: adding a check is one function and one line here, and the
engine, the docs table and the corpus measurement all iterate the same list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from nansentry.lint.checks.arithmetic import check_unguarded_division, check_unguarded_sqrt
from nansentry.lint.checks.config import (
    check_half_without_loss_scaling, check_optimizer_eps_zero, check_relu_recurrent_cell,
)
from nansentry.lint.checks.domains import check_unclamped_acos, check_where_unsafe_branch
from nansentry.lint.checks.exps import check_exp_without_max
from nansentry.lint.checks.logs import check_clipped_log_input, check_log_of_softmax
from nansentry.lint.checks.masks import check_inf_mask_softmax
from nansentry.lint.context import Context
from nansentry.lint.findings import Finding

Check = Callable[[Context], Iterator[Finding]]

CHECKS: dict[str, Check] = {
    "NS101": check_log_of_softmax,
    "NS102": check_clipped_log_input,
    "NS103": check_unguarded_division,
    "NS104": check_unguarded_sqrt,
    "NS105": check_exp_without_max,
    "NS106": check_unclamped_acos,
    "NS107": check_optimizer_eps_zero,
    "NS108": check_inf_mask_softmax,
    "NS109": check_relu_recurrent_cell,
    "NS110": check_half_without_loss_scaling,
    "NS111": check_where_unsafe_branch,
}

__all__ = ["CHECKS", "Check"]
