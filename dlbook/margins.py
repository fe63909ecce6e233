"""How close each self-check came to failing.

A chapter's hidden self-checks are plain ``assert`` statements. While a run report is
written (``DLBOOK_REPORT`` set, as ``benchmarks/run_book.py`` does), :func:`install`
makes the kernel rewrite each comparison that an ``assert`` tests (``assert accuracy >
0.95``, ``assert 0.1 < ratio < 0.3``, each side of ``and``) into a call of :func:`check`,
which evaluates the same comparison and records its margin (:func:`margin`) in the
report. A margin of 0.04 means that the measured value was 4% away from failing. The
run report page lists the smallest margins, so that a claim that barely holds is seen
before a reader's machine makes it fail. Other asserts run unchanged.
"""

from __future__ import annotations

import ast
import operator
from itertools import pairwise
from numbers import Real

from dlbook import report
from dlbook.runtime import report_path

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_SYMBOLS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
CHECK = "_dlbook_check"  # the name the rewritten asserts call in the kernel


def margin(values, ops) -> float:
    """The smallest slack of ``values[0] ops[0] values[1] ops[1] ...``, each as a
    fraction of the larger of its two sides: positive when the claim holds."""
    slacks = []
    for (a, b), op in zip(pairwise(map(float, values)), ops, strict=True):
        slack = b - a if op in ("<", "<=") else a - b
        slacks.append(slack / (max(abs(a), abs(b)) or 1.0))
    return min(slacks)


def _scalar(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, Real):
        return True
    return getattr(value, "ndim", None) == 0 and hasattr(value, "item")


def check(source: str, ops: str, *values) -> bool:
    """``values[0] ops[0] values[1] ...`` as Python evaluates the chain; the margin of a
    comparison of plain numbers is appended to the run report."""
    symbols = ops.split()
    holds = all(OPS[op](a, b) for (a, b), op in zip(pairwise(values), symbols, strict=True))
    if report_path() is not None and all(_scalar(v) for v in values):
        report.append("margin", report.this_run(), check=source, margin=margin(values, symbols))
    return holds


class _RewriteAsserts(ast.NodeTransformer):
    """``assert a > b`` and ``assert a > b and c < d`` call :func:`check` for each
    comparison; everything else in an assert is left as it is."""

    def visit_Assert(self, node: ast.Assert) -> ast.Assert:
        test = node.test
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
            test.values = [self._checked(v) for v in test.values]
        else:
            node.test = self._checked(test)
        return ast.fix_missing_locations(node)

    @staticmethod
    def _checked(test: ast.expr) -> ast.expr:
        if not (isinstance(test, ast.Compare) and all(type(op) in _SYMBOLS for op in test.ops)):
            return test
        ops = " ".join(_SYMBOLS[type(op)] for op in test.ops)
        call = ast.Call(
            func=ast.Name(CHECK, ast.Load()),
            args=[ast.Constant(ast.unparse(test)[:160]), ast.Constant(ops), test.left]
            + test.comparators,
            keywords=[],
        )
        return ast.copy_location(call, test)


def install() -> None:
    """In a Jupyter kernel writing a run report, record the margin of every comparing
    ``assert`` from now on (idempotent; nothing happens elsewhere)."""
    if report_path() is None:
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    shell.user_ns[CHECK] = check
    if not any(isinstance(t, _RewriteAsserts) for t in shell.ast_transformers):
        shell.ast_transformers.append(_RewriteAsserts())
