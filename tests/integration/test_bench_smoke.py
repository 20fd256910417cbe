"""The benchmark runs end to end (tiny sizes): `make bench` must not rot."""

from __future__ import annotations

from bench.search import main


def test_bench_prints_figures_for_each_size(capsys):
    main(
        ["--sizes", "150", "600", "--queries", "15", "--scan-queries", "5", "--backends", "sqlite"]
    )
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith("sqlite")]
    assert [row[1] for row in rows] == ["150", "600"]
    assert all(float(value) >= 0 for row in rows for value in row[2:])
