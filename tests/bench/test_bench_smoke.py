"""Every benchmark at a tiny size: the harness runs, and every figure comes with its baseline and ratio.

The real sizes run with `make bench` (bench/README.md), never in `make test`.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from sqlalchemy.engine import make_url

from bench.__main__ import END, START, main, table, write_readme

GROUPS = {"intake": 4, "kpi": 5, "notify": 1, "floors": 4}  # figures each group reports at a tiny size


@pytest.fixture
def bench_backend(backend, monkeypatch) -> str:
    """The backend under test; on PostgreSQL the benchmarks create their databases on the test server."""
    if backend == "postgresql":
        server = make_url(os.environ["TEST_DATABASE_URL"]).set(database="postgres")
        monkeypatch.setenv("BENCH_POSTGRES_URL", server.render_as_string(hide_password=False))
    return backend


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_benchmark_runs_at_a_tiny_size(group, bench_backend, tmp_path):
    results_path = tmp_path / "results.json"
    assert (
        main(
            [
                "--tiny",
                "--only",
                group,
                "--backend",
                bench_backend,
                "--results",
                str(results_path),
                "--readme",
                "",
            ]
        )
        == 0
    )
    results = json.loads(results_path.read_text(encoding="utf-8"))
    assert results["backend"] == bench_backend and results["tiny"] is True
    assert results["machine"]["cpus"] >= 1 and results["machine"]["python"]
    figures = results["figures"]
    assert len(figures) == GROUPS[group]
    for figure in figures:
        assert figure["value"] > 0 and figure["baseline_value"] > 0, figure
        assert figure["ratio"] == pytest.approx(figure["value"] / figure["baseline_value"]), figure
        assert figure["met"] in (True, False) if figure["goal"] else figure["met"] is None, figure


def test_the_readme_table_is_rewritten_between_its_markers(tmp_path):
    readme = tmp_path / "README.md"
    shutil.copy(os.path.join(os.path.dirname(__file__), "..", "..", "bench", "README.md"), readme)
    results = {
        "started_at": "2026-11-28T12:00:00+00:00",
        "seconds": 540.0,
        "backend": "postgresql",
        "machine": {
            "cpu": "CPU",
            "cpus": 2,
            "memory_gib": 23.0,
            "os": "Linux",
            "python": "3.11",
            "sqlite": "3.40",
            "postgresql": "15.1",
            "commit": "abc1234",
        },
        "figures": [
            {
                "benchmark": "1. report saves over HTTP",
                "name": "requests per second",
                "value": 240.0,
                "unit": "req/s",
                "baseline": "bare endpoint",
                "baseline_value": 1929.0,
                "ratio": 0.1244,
                "goal": ">= 0.5",
                "met": False,
            },
        ],
    }
    write_readme(readme, results)
    write_readme(readme, results)  # again: the block is replaced, not added
    text = readme.read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1
    assert table(results) in text
    assert (
        "| 1. report saves over HTTP | requests per second | 240 req/s | bare endpoint | 1,929 req/s | 0.124 | >= 0.5 | **no** |"
        in text
    )
