"""`python -m bench.workbook_bombs`: how long intake takes to refuse each workbook bomb, and what it allocates.

Each bomb of tests/helpers/workbook_bombs.py is posted to intake's API and to its upload page, as a
signed-in bureau user (in process, SQLite), three times each; the median times and the tracemalloc
peaks of one more pass are printed as a Markdown table
(docs/reliability.md keeps the last one). With `--baseline`, openpyxl's own load_workbook of the
same file is timed in a child process (at most 30 s and 2 GB) for comparison. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench.harness import scratch_database
from services.intake import SERVICE_DIR, create_app, excel, tokens, users
from shared.catalog import default_catalog
from tests.helpers.workbook_bombs import BOMBS
from tests.intake.web.conftest import PASSWORD, Q2, SECRET_KEY, Browser
from tests.intake.web.test_excel_fuzz import empty_sheet

API = "/api/v1/reports/police/2022/2/xlsx"
BASELINE_SECONDS, BASELINE_BYTES = 30, 2 * 1024**3
_OPENPYXL = """
import io, resource, sys, time
from openpyxl import load_workbook
resource.setrlimit(resource.RLIMIT_DATA, ({limit}, {limit}))
raw = sys.stdin.buffer.read()
start = time.perf_counter()
try:
    load_workbook(io.BytesIO(raw))
    outcome = "loaded"
except MemoryError:
    outcome = "MemoryError"
except Exception as error:
    outcome = type(error).__name__
peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(time.perf_counter() - start, peak, outcome)
"""


def openpyxl_alone(raw: bytes) -> str:
    """What openpyxl does with the file by itself: seconds, peak resident memory (VmHWM), outcome."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _OPENPYXL.format(limit=BASELINE_BYTES)],
            input=raw,
            capture_output=True,
            timeout=BASELINE_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return f"> {BASELINE_SECONDS} s (stopped)"
    seconds, kilobytes, outcome = done.stdout.decode().split()
    return f"{float(seconds):.1f} s, {int(kilobytes) // 1024} MB resident, {outcome}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="bomb names (default: all)")
    parser.add_argument("--baseline", action="store_true", help="also time openpyxl alone on each file")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    names = args.only or list(BOMBS)
    template = excel.build_workbook(empty_sheet("police"))
    rows = []
    with (
        tempfile.TemporaryDirectory() as folder,
        scratch_database("sqlite", Path(folder), "intake", SERVICE_DIR) as url,
    ):
        app = create_app(
            {"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": SECRET_KEY, "SESSION_COOKIE_SECURE": False}
        )
        with app.extensions["database"].transaction() as session:
            users.create_user(
                session,
                default_catalog(),
                username="police",
                password=PASSWORD,
                role="bureau",
                bureau="police",
                name="陳警員",
                created_by="bench",
                now=dt.datetime.now(dt.UTC),
            )
            _, secret = tokens.mint_token(
                session,
                default_catalog(),
                name="bench",
                role="bureau",
                bureau="police",
                created_by="bench",
                now=dt.datetime.now(dt.UTC),
            )
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}

        person = Browser(app)
        assert person.sign_in("police").status_code == 303
        form = {"csrf_token": person.csrf_token(), "revision": person.revision_of(Q2)}

        def through_api(raw: bytes):
            return client.post(API, data={"file": (io.BytesIO(raw), "report.xlsx")}, headers=headers)

        def through_page(raw: bytes):
            return person.client.post(Q2 + "/xlsx", data={**form, "file": (io.BytesIO(raw), "季報.xlsx")})

        for name in names:
            raw = BOMBS[name][0](template)
            row = [name, f"{len(raw) / 1024:,.0f} KB"]
            for post in (through_api, through_page):
                times = []
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    response = post(raw)
                    times.append(time.perf_counter() - start)
                tracemalloc.start()
                post(raw)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                row += [
                    f"{response.status_code}, {statistics.median(times) * 1000:,.0f} ms, {peak / 1024**2:.1f} MB"
                ]
            if args.baseline:
                row.append(openpyxl_alone(raw))
            rows.append(row)
        app.extensions["database"].dispose()
    header = ["bomb", "file", "API: answer, median time, allocated", "page: answer, median time, allocated"]
    header += ["openpyxl alone"] if args.baseline else []
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nmax RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
