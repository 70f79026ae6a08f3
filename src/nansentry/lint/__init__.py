"""`nansentry lint`: static checks for NaN-prone code, no framework imported.

Why: most NaN bugs are visible on the page (`log(softmax(z))`, `x / x.norm()`,
`eps=0`); a pure-`ast` pass catches them before the first training step, in
PyTorch, TensorFlow 1.x/2.x, Keras, Theano, JAX and NumPy code alike.

    >>> from nansentry.lint import lint_source
    >>> [f.code for f in lint_source("loss = -(y * torch.log(F.softmax(z, 1))).sum()")]
    ['NS101']
"""

from __future__ import annotations

from nansentry.lint.catalog import RULES, Rule, find
from nansentry.lint.engine import LintError, lint_paths, lint_source
from nansentry.lint.findings import Finding

__all__ = ["RULES", "Finding", "LintError", "Rule", "find", "lint_paths", "lint_source"]
