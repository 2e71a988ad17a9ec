"""`python -m bench` (make bench): run the benchmarks, write bench/results.json and bench/README.md's table.

python -m bench                       # everything, on PostgreSQL if it answers, else SQLite
python -m bench --only notify         # one group: intake (1, 2), kpi (3, 4, 5), notify (6), fresh (7), floors (8)
python -m bench --tiny --results x.json --readme ''   # the smoke test's sizes
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import floors, fresh, intake, kpi, notify
from bench.harness import Context, machine, postgres_server

HERE = Path(__file__).resolve().parent
GROUPS = {
    "intake": intake.run,
    "kpi": kpi.run,
    "notify": notify.run,
    "fresh": fresh.run,
    "floors": floors.run,
}
START, END = "<!-- results:start -->", "<!-- results:end -->"


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3f}"
    return f"{text} {unit}".strip()


def table(results: dict) -> str:
    """The Markdown block that bench/README.md shows between its markers."""
    m = results["machine"]
    lines = [
        f"Measured {results['started_at'][:16].replace('T', ' ')} UTC in {results['seconds'] / 60:.1f} minutes "
        f"on {m['cpu']} ({m['cpus']} CPUs), {m['memory_gib']} GiB, {m['os']}, Python {m['python']}, "
        f"SQLite {m['sqlite']}, PostgreSQL {m['postgresql'] or '—'}; databases on **{results['backend']}**; "
        f"commit {m['commit']}.",
        "",
        "| benchmark | figure | value | baseline | baseline value | ratio | goal | met |",
        "|---|---|---:|---|---:|---:|---|---|",
    ]
    for f in results["figures"]:
        met = "—" if f["met"] is None else ("yes" if f["met"] else "**no**")
        lines.append(
            f"| {f['benchmark']} | {f['name']} | {_number(f['value'], f['unit'])} | {f['baseline'] or '—'} | "
            f"{_number(f['baseline_value'], f['unit'])} | {_number(f['ratio'])} | {f['goal'] or '—'} | {met} |"
        )
    return "\n".join(lines)


def write_readme(path: Path, results: dict) -> None:
    text = path.read_text(encoding="utf-8")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    path.write_text(f"{before}{START}\n{table(results)}\n{END}{after}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(GROUPS), help="run only these groups")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (the smoke test)")
    parser.add_argument(
        "--backend", choices=("postgresql", "sqlite"), help="default: PostgreSQL if it answers"
    )
    parser.add_argument("--results", default=str(HERE / "results.json"), help="where to write the results")
    parser.add_argument(
        "--readme", default=str(HERE / "README.md"), help="README whose table to rewrite ('' for none)"
    )
    args = parser.parse_args(argv)
    server = postgres_server()
    backend = args.backend or ("postgresql" if server else "sqlite")
    folder = Path(tempfile.mkdtemp(prefix="dgbv-bench-"))
    started, clock = dt.datetime.now(dt.UTC), time.monotonic()
    ctx = Context(folder, backend, args.tiny, log=lambda text: print(text, flush=True))
    print(f"bench: {backend}, scratch files in {folder}", flush=True)
    figures = []
    try:
        for name in args.only or list(GROUPS):
            group_clock = time.monotonic()
            figures += GROUPS[name](ctx)
            print(f"bench: {name} done in {time.monotonic() - group_clock:.0f} s", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    results = {
        "started_at": started.isoformat(),
        "seconds": round(time.monotonic() - clock, 1),
        "backend": backend,
        "tiny": args.tiny,
        "machine": machine(server if backend == "postgresql" else None),
        "figures": [figure.as_dict() for figure in figures],
    }
    Path(args.results).write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if args.readme:
        write_readme(Path(args.readme), results)
    print(table(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
