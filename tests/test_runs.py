"""dlbook.runs: reading run reports back, for the prose, the benchmarks and the chapters."""

import json

import pytest

from dlbook import runs

ROWS = [
    {"kind": "run", "chapter": "a", "seed": 0, "seconds": 3.0, "passed": True, "device": "cpu"},
    {"kind": "run", "chapter": "a", "seed": 1, "seconds": 5.0, "passed": True, "device": "cpu"},
    {"kind": "run", "chapter": "b", "seed": 0, "seconds": 9.0, "passed": False, "device": "cpu"},
    {"kind": "metric", "chapter": "a", "metric": "m", "seed": 0, "value": 1.0},
    {"kind": "metric", "chapter": "a", "metric": "m", "seed": 1, "value": 2.0},
    {"kind": "metric", "chapter": "b", "metric": "m", "seed": 0, "value": 9.0},
    {"kind": "margin", "chapter": "a", "check": "x > 1", "margin": 0.05, "seed": 0},
]


@pytest.mark.parametrize(
    "numbers, spec, text",
    [
        ([0.9833, 0.9847, 0.9828], ".1%", "98.3–98.5%"),
        ([0.5, 0.5], ".0%", "50%"),
        ([1.618, 1.627], ".2f", "1.62–1.63"),
        ([3, 7, 5], "", "3–7"),
    ],
)
def test_report_ranges_read_as_prose(numbers, spec, text):
    assert runs.spread(numbers, spec) == text


def test_seeds_read_as_prose():
    assert runs.seeds_phrase([2, 0, 1]) == "seeds 0, 1 and 2"
    assert runs.seeds_phrase([4]) == "seed 4"


def test_report_values_pick_one_metric_of_one_chapter():
    rows = [
        {"kind": "metric", "chapter": "a", "metric": "m", "seed": 0, "value": 1.0},
        {"kind": "metric", "chapter": "a", "metric": "m", "seed": 1, "value": 2.0},
        {"kind": "metric", "chapter": "b", "metric": "m", "seed": 0, "value": 9.0},
        {"kind": "run", "chapter": "a", "seed": 0, "seconds": 3.0, "passed": True},
    ]
    assert runs.values(rows, "a", "m") == {0: 1.0, 1: 2.0}


def test_table_has_one_row_per_chapter_in_the_order_they_ran():
    table = runs.table(ROWS)
    assert table["chapter"].tolist() == ["a", "b"]
    a, b = table.to_dict("records")
    assert a["seconds"] == 5.0 and a["seconds (range)"] == "3–5" and a["seeds"] == "0 1"
    assert a["self-check"] == "pass" and b["self-check"] == "FAIL"
    assert a["headline metrics"] == "m 1–2" and b["headline metrics"] == "m 9"


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_committed_reads_one_metric_by_seed(tmp_path, capsys):
    path = write(tmp_path / "full.jsonl", ROWS)
    assert runs.committed("a", "m", path) == {0: 1.0, 1: 2.0}
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("missing", ["report", "metric"])
def test_committed_says_aloud_when_a_check_is_skipped(tmp_path, capsys, missing):
    path = tmp_path / "full.jsonl"
    if missing == "metric":
        write(path, ROWS)
    assert runs.committed("a", "renamed_metric", path) == {}
    out = capsys.readouterr().out
    assert out.startswith("skipped: the comparison with a's 'renamed_metric': ")
    assert str(path) in out


def test_the_committed_report_is_found_from_the_repository():
    assert (runs.ROOT / runs.COMMITTED).exists()
