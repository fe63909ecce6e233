import json

import pytest

import dlbook
from dlbook import margins, report


def test_record_appends_one_json_line_per_number(tmp_path, monkeypatch):
    path = tmp_path / "report.jsonl"
    monkeypatch.setenv("DLBOOK_REPORT", str(path))
    dlbook.setup("unit_chapter", seed=1)
    assert report.record("accuracy", 0.91) == 0.91
    report.record("loss", 0.3)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["metric"] for r in rows] == ["accuracy", "loss"]
    assert rows[0]["chapter"] == "unit_chapter" and rows[0]["seed"] == 1
    assert {"profile", "device", "torch", "seconds", "value"} <= set(rows[0])


def test_record_without_report_file_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("DLBOOK_REPORT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert report.record("accuracy", 0.5) == 0.5
    assert list(tmp_path.iterdir()) == []


def test_every_row_follows_the_one_schema(tmp_path, monkeypatch):
    """record, the rewritten asserts (margins) and conftest's run rows all write through
    report.append, whose KINDS say which fields each kind of row has."""
    path = tmp_path / "report.jsonl"
    monkeypatch.setenv("DLBOOK_REPORT", str(path))
    monkeypatch.setenv("DLBOOK_SEED", "0")
    dlbook.setup("unit_chapter", seed=1)
    report.record("accuracy", 0.91)
    margins.check("accuracy > 0.9", ">", 0.91, 0.9)
    run = report.run_fields("unit_chapter")
    report.append("run", run, seconds=1.5, passed=True, date="2026-12-08")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["kind"] for r in rows] == ["metric", "margin", "run"]
    for row in rows:
        assert set(row) == {"kind", *report.RUN_FIELDS, *report.KINDS[row["kind"]]}
        assert row["chapter"] == "unit_chapter"
    assert rows[1]["seed"] == 1 and rows[2]["seed"] == 0  # setup's seed; the environment's


def test_a_row_with_other_fields_is_refused_saying_which(monkeypatch, tmp_path):
    monkeypatch.setenv("DLBOOK_REPORT", str(tmp_path / "report.jsonl"))
    with pytest.raises(ValueError, match="has the fields seconds, passed, date; got seconds"):
        report.append("run", {}, seconds=1.0)
    with pytest.raises(ValueError, match="use one of metric, margin, run"):
        report.append("metrics", {}, value=1.0)
