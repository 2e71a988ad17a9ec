"""Benchmarks of issue 8: how each cost grows with the work, beside a baseline measured in the same run.

`make bench` (or `python -m bench`) runs them all and writes bench/results.json and the table in
bench/README.md. They are not part of `make test`; tests/bench runs each at a tiny size.
"""
