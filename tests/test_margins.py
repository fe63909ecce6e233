"""dlbook.margins: asserts keep their meaning and report how close they came to failing."""

import json

import numpy as np
import pytest
import torch
from IPython import get_ipython
from IPython.testing.globalipapp import start_ipython

from dlbook import margins, report, runs


@pytest.fixture
def shell():
    return start_ipython() or get_ipython()  # the first call starts it, later ones return None


def test_margin_is_the_smallest_relative_slack():
    assert margins.margin([0.96, 0.95], [">"]) == pytest.approx(0.01 / 0.96)
    assert margins.margin([0.1, 0.2, 0.25], ["<", "<"]) == pytest.approx(0.05 / 0.25)
    assert margins.margin([0.9, 0.95], [">"]) < 0  # a failed claim has a negative margin
    assert margins.margin([0, 0], ["<="]) == 0


def test_check_evaluates_like_python_and_records_scalars(tmp_path, monkeypatch):
    path = tmp_path / "report.jsonl"
    monkeypatch.setenv("DLBOOK_REPORT", str(path))
    monkeypatch.setattr(report, "_run", {"chapter": "x", "seed": 3, "started": 0.0})
    assert margins.check("a > b", ">", np.float32(0.97), 0.95)
    assert not margins.check("0 < a < 1", "< <", 0, torch.tensor(1.5), 1)
    assert margins.check("v < 1", "<", np.array([0.1, 0.2]).max(), 1)
    with pytest.raises(ValueError, match="ambiguous"):  # as `assert np.zeros(3) < 1` does
        margins.check("arrays", "<", np.zeros(3), 1)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["check"] for r in rows] == ["a > b", "0 < a < 1", "v < 1"]
    assert rows[0]["chapter"] == "x" and rows[0]["seed"] == 3 and "started" not in rows[0]
    assert rows[1]["margin"] < 0 < rows[0]["margin"]


def test_the_kernel_rewrites_comparing_asserts_only(shell, tmp_path, monkeypatch):
    path = tmp_path / "report.jsonl"
    monkeypatch.setenv("DLBOOK_REPORT", str(path))
    monkeypatch.setattr(report, "_run", {"chapter": "y", "started": 0.0})
    margins.install()
    margins.install()  # idempotent
    try:
        assert sum(isinstance(t, margins._RewriteAsserts) for t in shell.ast_transformers) == 1
        shell.run_cell("acc = 0.9\nassert acc > 0.8, 'too low'\nassert acc in (0.9,)")
        shell.run_cell("assert 0 < acc and acc <= 1 and bool(acc)")
        result = shell.run_cell("assert acc > 0.95, f'only {acc}'")
        assert isinstance(result.error_in_exec, AssertionError)
        assert str(result.error_in_exec) == "only 0.9"  # the message is kept
    finally:
        shell.ast_transformers[:] = [
            t for t in shell.ast_transformers if not isinstance(t, margins._RewriteAsserts)
        ]
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["check"], r["margin"] > 0) for r in rows] == [
        ("acc > 0.8", True),
        ("0 < acc", True),
        ("acc <= 1", True),
        ("acc > 0.95", False),
    ]


def test_nothing_is_installed_without_a_report(shell, monkeypatch):
    monkeypatch.delenv("DLBOOK_REPORT", raising=False)
    before = list(shell.ast_transformers)
    margins.install()
    assert shell.ast_transformers == before


def test_closest_margins_are_per_check_worst_and_skip_exact_bounds():
    rows = [
        {"kind": "margin", "chapter": "a", "check": "x > 1", "margin": m, "seed": s}
        for s, m in [(0, 0.3), (1, 0.05), (2, 0.2)]
    ] + [
        {"kind": "margin", "chapter": "a", "check": "abs(s) <= 1", "margin": 0.0, "seed": 0},
        {"kind": "margin", "chapter": "b", "check": "y < 2", "margin": -0.1, "seed": 4},
    ]
    table = runs.closest_margins(rows)
    assert table["self-check"].tolist() == ["y < 2", "x > 1"]
    assert table["margin"].tolist() == ["-10.0%", "5.0%"] and table["at seed"].tolist() == [4, 1]
