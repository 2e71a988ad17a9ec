"""Case cells kept change by change equal a full count of the records, whatever the changes."""

from __future__ import annotations

import datetime as dt
import json

from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete, select, text

from services.kpi import SERVICE_DIR as KPI_DIR
from services.kpi import cells, sync, tables
from services.kpi.models import CaseCellRow, CaseRow, TypeCellRow
from shared import changes
from shared.db import Database
from shared.migrations import alembic_config, upgrade

# Few refs and few values, so that changes often update a record and move it between cells.
REFS = [f"R-{n}" for n in range(8)]
records = st.builds(
    changes.CaseChange,
    ref=st.sampled_from(REFS),
    date=st.sampled_from([dt.date(2021, 3, 4), dt.date(2022, 5, 6)]),
    category=st.sampled_from(["secret_filming", "sextortion"]),
    types=st.lists(st.integers(1, 4), max_size=3, unique=True).map(tuple),
    role=st.sampled_from(["suspect", "victim"]),
    sex=st.sampled_from(["male", "female"]),
    age_band=st.sampled_from(["18-23", "24-29"]),
    cause=st.sampled_from([None, "sexual_impulse"]),
    relationship=st.sampled_from([None, "partner"]),
    district=st.none(),
)
# A step: a page of upserts (a later change of a ref in the same page supersedes an earlier one),
# or the deletion of some refs.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("upsert"), st.lists(records, min_size=1, max_size=6)),
        st.tuples(st.just("delete"), st.lists(st.sampled_from(REFS), min_size=1, max_size=3, unique=True)),
    ),
    min_size=1,
    max_size=8,
)


def feed_page(batch: list[changes.CaseChange]) -> list[dict]:
    return [{"entity": "case", "key": c.ref, "data": changes.write(c)} for c in batch]


def delete_records(session, refs: list[str]) -> None:
    """Records that are gone leave their cells."""
    delta = cells.Delta()
    for row in session.execute(select(CaseRow.key, *cells.RECORD_COLUMNS).where(CaseRow.key.in_(refs))):
        delta.remove(row)
    session.execute(delete(CaseRow).where(CaseRow.key.in_(refs)))
    cells.apply(session, delta)


def full_count(session) -> tuple[list, list]:
    return tables.count_cells(session.execute(select(*cells.RECORD_COLUMNS)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=steps)
def test_cells_kept_change_by_change_equal_a_full_count(kpi_db_url, sequence):
    database = Database(kpi_db_url)
    try:
        with database.transaction() as session:
            for model in (CaseRow, CaseCellRow, TypeCellRow):
                session.execute(delete(model))
        for kind, items in sequence:
            with database.transaction() as session:
                if kind == "upsert":
                    sync.apply_changes(session, feed_page(items))
                else:
                    delete_records(session, items)
        with database.session(write=False) as session:
            kept, expected = cells.read(session), full_count(session)
            assert session.scalar(select(CaseCellRow.key).where(CaseCellRow.count <= 0)) is None
        assert kept == expected
        with database.transaction() as session:
            cells.recount(session)
        with database.session(write=False) as session:
            assert cells.read(session) == expected
    finally:
        database.dispose()


def test_a_record_that_changes_leaves_its_old_cell_and_an_emptied_cell_is_gone(kpi_db_url):
    database = Database(kpi_db_url)
    base = dict(
        ref="R-1",
        date=dt.date(2021, 3, 4),
        category="secret_filming",
        types=(2,),
        role="suspect",
        sex="male",
        age_band="24-29",
        cause=None,
        relationship=None,
        district=None,
    )
    try:
        with database.transaction() as session:
            sync.apply_changes(session, feed_page([changes.CaseChange(**base)]))
        with database.transaction() as session:
            sync.apply_changes(
                session, feed_page([changes.CaseChange(**{**base, "sex": "female", "types": (3,)})])
            )
        with database.session(write=False) as session:
            case_cells, type_cells = cells.read(session)
        assert [(c.sex, c.count) for c in case_cells] == [("female", 1)]
        assert [(c.sex, c.type, c.count) for c in type_cells] == [("female", 3, 1)]
    finally:
        database.dispose()


def test_records_read_before_the_upgrade_are_counted_into_cells_by_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'kpi.db'}"
    command.upgrade(alembic_config(KPI_DIR, url), "0003")
    engine = create_engine(url)
    with engine.begin() as connection:
        for key, sex, types in (("R-1", "male", [2, 3]), ("R-2", "male", [2]), ("R-3", "female", [])):
            connection.execute(
                text(
                    "INSERT INTO cases (key, occurred_on, year, category, role, sex, age_band, types) "
                    "VALUES (:key, '2021-03-04', 2021, 'secret_filming', 'victim', :sex, '18-23', :types)"
                ),
                {"key": key, "sex": sex, "types": json.dumps(types)},
            )
    upgrade(KPI_DIR, url)
    engine.dispose()
    database = Database(url)
    try:
        with database.session(write=False) as session:
            assert cells.read(session) == full_count(session)
            assert [c.count for c in cells.read(session)[0]] == [1, 2]
    finally:
        database.dispose()
