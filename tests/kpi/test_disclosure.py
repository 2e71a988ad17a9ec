"""The small-cell rule: small counts of case records are withheld, with what would give them away."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.kpi import disclosure, tables
from shared.catalog import Disclosure, default_catalog
from shared.rules import is_small_cell
from tests.kpi.test_tables import TABLE_1, TABLE_2, TABLE_3, Record, records_behind

CATALOG = default_catalog()
RULE = CATALOG.disclosure


def counts_of(table: tables.Table) -> dict:
    return {
        (number, column): value
        for number, row in enumerate(table.rows)
        if row.row_type != "share"
        for column, value in enumerate(row.values)
    }


def grand_totals(table: tables.Table) -> set:
    parts = {part for _, members in table.relations for part in members}
    return {total for total, _ in table.relations} - parts


def seed_table(printed: str, category: str, role: str) -> tables.Table:
    records = [
        Record(**record, year=int(record["date"][:4]), types=[])
        for record in records_behind(printed, category, role, "T")
    ]
    kind = "suspects" if role == "suspect" else "victims"
    for record in records:
        record.__dict__.setdefault("cause", None)
        record.__dict__.setdefault("relationship", None)
    return tables.build(kind, CATALOG, *tables.count_cells(records), category, 2020, 2021)


SEED_TABLES = {
    "Table 1": (TABLE_1, "secret_filming", "suspect"),
    "Table 2": (TABLE_2, "secret_filming", "victim"),
    "Table 3": (TABLE_3, "obscene_distribution", "suspect"),
}


def test_the_rule_withholds_counts_from_one_to_under_the_threshold():
    assert [n for n in range(6) if is_small_cell(n, RULE)] == [1, 2]
    assert [n for n in range(6) if is_small_cell(n, Disclosure(min_cell=1))] == []


def test_a_total_and_all_but_one_cell_never_give_a_withheld_cell_away():
    # 5 men and 1 woman: the woman's cell is small, and 6 - 5 would give her away.
    type_cells = [
        tables.TypeCell(2021, "c", "suspect", "male", 2, 5),
        tables.TypeCell(2021, "c", "suspect", "female", 2, 1),
    ]
    table = tables.build("types", CATALOG, [], type_cells, None, 2021, 2021)
    assert table.text_rows()[2][1:4] == ["6", "1", "5"]
    assert disclosure.suppress(table, RULE).text_rows()[2][1:4] == ["6", "x", "x"]


def test_bounds_reasoning_does_not_recover_a_small_count_of_the_plans_tables():
    # Table 3, women: 18-23 has 2 people, 1 of 情慾衝動 and 1 of 故意. The two 1s and the 2 are
    # withheld, yet with 9 women, 4 of 40-49 shown and every withheld count at least 1, the other
    # age bands (1, 1, 1) leave the 2 exactly 9 - 4 - 3: so more is withheld around it.
    table = seed_table(*SEED_TABLES["Table 3"])
    counts = counts_of(table)
    complementary_only = {position for position, count in counts.items() if is_small_cell(count, RULE)}
    disclosure._complete(table.relations, counts, complementary_only)
    assert disclosure.pinned(table.relations, counts, complementary_only) & {
        (0, 2),  # 女性總計, 18-23歲
        (4, 2),  # 情慾衝動, 18-23歲
        (5, 2),  # 故意, 18-23歲
    }
    withheld = disclosure.withheld_positions(table, RULE)
    small = {position for position, count in counts.items() if is_small_cell(count, RULE)}
    assert not disclosure.pinned(table.relations, counts, withheld) & small
    assert disclosure.suppress(table, RULE).text_rows()[1] == [
        "女性總計", "9", "-", "x", "x", "x", "x", "x", "-",
    ]  # fmt: skip


def test_no_small_count_of_the_three_seed_tables_can_be_recovered_from_the_published_ones():
    for name, printed in SEED_TABLES.items():
        table = seed_table(*printed)
        counts = counts_of(table)
        withheld = disclosure.withheld_positions(table, RULE)
        small = {position for position, count in counts.items() if is_small_cell(count, RULE)}
        assert small <= withheld, name
        assert not disclosure.pinned(table.relations, counts, withheld) & small, name
        shown = disclosure.suppress(table, RULE)
        for number, row in enumerate(shown.rows):
            for column, value in enumerate(row.values):
                if value is not tables.WITHHELD:
                    assert value == table.rows[number].values[column], (name, number, column)


CELL = st.tuples(
    st.sampled_from(["female", "male"]),
    st.sampled_from([band.id for band in CATALOG.age_bands[:4]]),
    st.sampled_from([code.id for code in CATALOG.causes[:4]]),
    st.sampled_from([code.id for code in CATALOG.relationships[:4]]),
    st.integers(1, 9),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(CELL, max_size=14),
    st.lists(st.tuples(st.sampled_from(["suspect", "victim"]), CELL), max_size=10),
    st.sampled_from(["suspects", "victims", "types"]),
    st.integers(1, 5),
)
def test_whatever_the_counts_the_published_table_keeps_the_rule(cells, typed, kind, min_cell):
    rule = Disclosure(min_cell=min_cell)
    case_cells = [
        tables.CaseCell(2021, "c", role, sex, band, cause, relationship, n)
        for role in ("suspect", "victim")
        for sex, band, cause, relationship, n in cells
    ]
    type_cells = [
        tables.TypeCell(2021, "c", role, sex, 1 + len(band) % 3, n) for role, (sex, band, *_, n) in typed
    ]
    table = tables.build(kind, CATALOG, case_cells, type_cells, None, 2021, 2021)
    counts = counts_of(table)
    withheld = disclosure.withheld_positions(table, rule)
    shown_always = grand_totals(table)
    for position, count in counts.items():
        # Every small count is withheld; zero never is; a grand total only when small itself.
        assert (position in withheld) >= is_small_cell(count, rule)
        if position in withheld:
            assert count > 0
        if position in shown_always:
            assert (position in withheld) == is_small_cell(count, rule)
    for total, parts in table.relations:
        members = (total, *parts)
        assert counts[total] == sum(counts[part] for part in parts)
        if sum(member in withheld for member in members) == 1:
            # Only a grand total could have been withheld with it, and it never is.
            others = [m for m in members if m not in withheld and counts[m] > 0]
            assert others and set(others) <= shown_always
    for share, part, whole in table.shares:
        assert (share in withheld) == (part in withheld or whole in withheld)
    suppressed = disclosure.suppress(table, rule)
    assert suppressed.withheld == len(withheld)
    assert all(
        (value is tables.WITHHELD) == ((number, column) in withheld)
        for number, row in enumerate(suppressed.rows)
        for column, value in enumerate(row.values)
    )
