"""What one report save costs, part by part: `python -m bench.save_profile [--saves N]`.

In process (Flask's test client, no gunicorn), on a scratch PostgreSQL database (SQLite with
`--backend sqlite`): the same report saved N times as in benchmark 1, each a new revision. Prints
the wall and CPU time of a save unprofiled, then, under cProfile, the share of each part (its
cumulative time over all saves), and each SQL statement's wall time from SQLAlchemy's cursor events.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import event

from bench.harness import postgres_server, scratch_database
from bench.intake import CATALOG, _open_plan, _report_body, _tokens
from services.intake import SERVICE_DIR as INTAKE_DIR
from services.intake import create_app

# The parts of a save, each a function whose cumulative time is that part (file suffix, name).
PARTS = (
    ("the token lookup", "services/intake/tokens.py", "resolve_in_app"),
    ("reading the JSON body (marshmallow)", "webargs/core.py", "parse"),
    ("checking the values (catalog)", "services/intake/reports.py", "normalise_actions"),
    ("the personal-data search", "services/intake/personal_data.py", "refuse_personal_data"),
    ("the row lock (SELECT … FOR UPDATE)", "services/intake/reports.py", "_load_for_update"),
    ("the revision (diff, snapshot, row, its flush)", "services/intake/reports.py", "_write_revision"),
    ("  of which the flush (UPDATE report, INSERT revision)", "sqlalchemy/orm/session.py", "flush"),
    ("the feed row (sequencer lock, notify, position, insert)", "services/intake/feed.py", "_write_pending"),
    ("the COMMIT itself (WAL flush)", "psycopg/connection.py", "commit"),
    (
        "the deployment's first quarter (SELECT installation)",
        "services/intake/installation.py",
        "first_quarter",
    ),
    ("the response (marshmallow dump)", "marshmallow/schema.py", "dump"),
)


def _statement_kind(statement: str) -> str:
    words = re.sub(r"\s+", " ", statement.strip()).split(" ")
    head = " ".join(words[:3]) if words[0] in ("INSERT", "UPDATE", "DELETE") else words[0]
    if words[0] == "SELECT":
        tables = re.findall(r"FROM (\w+)", statement)
        head = f"SELECT {tables[0] if tables else words[1][:40]}" + (
            " FOR UPDATE" if "FOR UPDATE" in statement else ""
        )
    return head


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.save_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"))
    args = parser.parse_args(argv)
    backend = args.backend or ("postgresql" if postgres_server() else "sqlite")
    folder = Path(tempfile.mkdtemp(prefix="dgbv-save-profile-"))
    with scratch_database(backend, folder, "saveprofile", INTAKE_DIR) as url:
        secrets = _tokens(url)
        app = create_app(
            {"DATABASE_URL": url, "CATALOG_PATH": str(_open_plan(folder)), "DGBV_VAR_DIR": str(folder)}
        )
        client = app.test_client()
        bureau = CATALOG.bureaus[0].id
        quarter = CATALOG.reporting.first_quarter
        path = f"/api/v1/reports/{bureau}/{quarter.year}/{quarter.quarter}"
        body = _report_body(bureau)
        headers = {"Authorization": f"Bearer {secrets[bureau]}", "Content-Type": "application/json"}
        counter = iter(range(1, 10**9))

        def save() -> None:
            response = client.put(
                path,
                data=body.replace(b"%N%", str(next(counter)).encode()),
                headers={**headers, "If-Match": "*"},
            )
            assert response.status_code == 200, response.get_data(True)[:300]

        created = client.put(path, data=body.replace(b"%N%", b"0"), headers=headers)
        assert created.status_code == 200, created.get_data(True)[:300]
        for _ in range(20):  # warm up: caches are filled
            save()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.saves):
            save()
        wall, cpu = (time.perf_counter() - wall) / args.saves, (time.process_time() - cpu) / args.saves

        statements: dict[str, list[float]] = defaultdict(list)
        engine = app.extensions["database"].engine

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info["started"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            statements[_statement_kind(statement)].append(time.perf_counter() - conn.info["started"])

        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.saves):
            save()
        profile.disable()
        stats = pstats.Stats(profile)
        total = sum(row[3] for key, row in stats.stats.items() if key[2] == "save" and key[0] == __file__)

    print(
        f"{args.saves} saves on {backend}, unprofiled: {wall * 1000:.2f} ms wall, {cpu * 1000:.2f} ms CPU a save"
    )
    print(f"under cProfile: {total / args.saves * 1000:.2f} ms a save; parts (cumulative, may nest):")
    for label, file_suffix, name in PARTS:
        seconds = sum(
            row[3]
            for (file, _, function), row in stats.stats.items()
            if function == name and file.endswith(file_suffix)
        )
        print(f"  {label:58s} {seconds / args.saves * 1000:6.2f} ms  {seconds / total:5.1%}")
    for (file, _, function), row in stats.stats.items():
        if function == "flush" and file.endswith("sqlalchemy/orm/session.py"):
            for (caller_file, _, caller), timing in row[4].items():
                print(
                    f"    the flush, called by {caller} ({Path(caller_file).name}): {timing[3] / args.saves * 1000:.2f} ms"
                )
    print("SQL statements, wall time a save (cursor events, during the profiled run):")
    for kind, times in sorted(statements.items(), key=lambda item: -sum(item[1])):
        print(f"  {kind:58s} {sum(times) / args.saves * 1000:6.2f} ms  x{len(times) / args.saves:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
