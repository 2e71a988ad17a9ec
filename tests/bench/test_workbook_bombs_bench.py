"""`python -m bench.workbook_bombs` runs: each bomb it is given is refused through the API and the page."""

from __future__ import annotations

from bench.workbook_bombs import main


def test_the_workbook_bomb_benchmark_reports_a_refusal_through_both_paths(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DGBV_VAR_DIR", str(tmp_path))
    assert main(["--only", "5,000 sheets pointing at one part", "--repeat", "1"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| 5,000 sheets"))
    api, page = row.split(" | ")[2:4]
    assert api.startswith("422, ") and page.startswith("422, ")
