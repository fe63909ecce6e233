import json

import dlbook
from dlbook import report


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
