"""The gender statistics tables of the plan (Tables 1-3), built from anonymous case records.

Case records are first counted into cells (year, category, role, sex, age band, cause,
relationship); the snapshot stores the cells, and a table sums the cells of a span of years
and a category. Layouts, as printed in the plan:

- `suspects` (Tables 1 and 3): per sex a total row and a composition row (構成比) across the
  age bands, then one row per crime cause with a nonzero count, by count descending, ties in
  catalog order, residual causes (其他/不明) last;
- `victims` (Table 2): per sex a total row and a composition row across the relationships, in
  catalog order, then one row per age band;
- `types`: the 10 types of digital gender-based violence by role and sex.

Women come first, as in the plan. Shares are percentages rounded half-up to two decimals.
CSV and XLSX show zero as `-`, as the printed tables do.

A table also says which of its cells add up to which (`relations`: a total and its parts) and
which share is which count over which total (`shares`): the small-cell rule
(services/kpi/disclosure.py) reads them to withhold a cell together with what would give it away.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from shared import rules
from shared.catalog import Catalog
from shared.numbers import share_pct
from shared.periods import roc_year
from shared.spreadsheets import csv_text, put_text

KINDS = ("suspects", "victims", "types")
# Women first, as the plan's tables print them; the words are shared/rules.py's.
SEXES = tuple(rules.CASE_SEX_NAMES.items())
ROLES = tuple(rules.CASE_ROLE_NAMES.items())
# The columns of the types table: per role its total (sex None), then each sex.
TYPE_COLUMNS = tuple((role, sex) for role, _ in ROLES for sex in (None, *(sex for sex, _ in SEXES)))
SHARE_LABEL = "構成比"
UNIT = "人、%"
ZERO = "-"
WITHHELD_MARK = "x"

Position = tuple[int, int]  # (row, column) of a value in Table.rows


class _Withheld:
    """A value the small-cell rule withholds: shown as WITHHELD_MARK, null in JSON."""

    def __repr__(self) -> str:
        return "WITHHELD"


WITHHELD = _Withheld()


class CaseCell(NamedTuple):
    """How many case records share these attributes."""

    year: int
    category: str
    role: str
    sex: str
    age_band: str
    cause: str | None
    relationship: str | None
    count: int


class TypeCell(NamedTuple):
    """How many case records of these attributes fall under one type (a record may have several)."""

    year: int
    category: str
    role: str
    sex: str
    type: int
    count: int


def count_cells(records: Iterable) -> tuple[list[CaseCell], list[TypeCell]]:
    """Count case records (objects with the read model's attributes) into cells."""
    cells: Counter = Counter()
    types: Counter = Counter()
    for r in records:
        cells[(r.year, r.category, r.role, r.sex, r.age_band, r.cause, r.relationship)] += 1
        for number in r.types or ():
            types[(r.year, r.category, r.role, r.sex, number)] += 1
    return (
        [CaseCell(*key, count) for key, count in sorted(cells.items(), key=_sort_key)],
        [TypeCell(*key, count) for key, count in sorted(types.items(), key=_sort_key)],
    )


def _sort_key(item):
    return tuple("" if v is None else str(v) for v in item[0])


@dataclass
class Row:
    label: str
    row_type: str  # total, share, cause, age_band or type
    sex: str | None
    code: str | None
    values: list = field(default_factory=list)


@dataclass
class Table:
    kind: str
    title: str
    category: str | None
    category_name: str
    from_year: int
    to_year: int
    label_header: str
    columns: list[str]
    rows: list[Row]
    unit: str = UNIT
    # (total, parts): the value at `total` is the sum of the values at `parts`.
    relations: list[tuple[Position, tuple[Position, ...]]] = field(default_factory=list)
    # (share, part, whole): the share at `share` is the count at `part` over the count at `whole`.
    shares: list[tuple[Position, Position, Position]] = field(default_factory=list)
    # The small-cell threshold applied (services/kpi/disclosure.py); None: the exact table.
    min_cell: int | None = None

    @property
    def withheld(self) -> int:
        return sum(value is WITHHELD for row in self.rows for value in row.values)

    @property
    def note(self) -> str | None:
        """What the mark means, printed under a table the rule was applied to."""
        if self.min_cell is None:
            return None
        return (
            f"說明：{WITHHELD_MARK} 表示不陳示。為保護被害人，未滿{self.min_cell}人之格，"
            "及可由總計與同列或同欄其他格推算之格，均不陳示。"
        )

    def to_json(self) -> dict:
        """Numbers as numbers (shares with two decimals), labels verbatim; a withheld value is
        null, flagged in its row's `suppressed`."""
        return {
            "kind": self.kind,
            "title": self.title,
            "unit": self.unit,
            "category": self.category,
            "category_name": self.category_name,
            "from_year": self.from_year,
            "to_year": self.to_year,
            "label_header": self.label_header,
            "columns": self.columns,
            "rows": [
                {
                    "label": row.label,
                    "row_type": row.row_type,
                    "sex": row.sex,
                    "code": row.code,
                    "values": [_json_value(v) for v in row.values],
                    "suppressed": [v is WITHHELD for v in row.values],
                }
                for row in self.rows
            ],
            "disclosure": {
                "exact": self.min_cell is None,
                "min_cell": self.min_cell,
                "suppressed_cells": self.withheld,
                "note": self.note,
            },
        }

    def text_rows(self) -> list[list[str]]:
        """The header and every row as the printed table shows them: zero as '-', a withheld value
        as WITHHELD_MARK, and under a table the rule was applied to, what the mark means."""
        rows = [[self.label_header, *self.columns]] + [
            [row.label, *(_display(v) for v in row.values)] for row in self.rows
        ]
        return rows + ([[self.note]] if self.note else [])

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerows([csv_text(cell) for cell in row] for row in self.text_rows())
        return buffer.getvalue()

    def to_xlsx(self) -> bytes:
        """One sheet: the title, the unit, the header and the rows; shares formatted 0.00."""
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = self.kind
        for number, values in enumerate(
            ([self.title], [f"單位：{self.unit}"], [self.label_header, *self.columns]), 1
        ):
            for column, value in enumerate(values, 1):
                put_text(sheet.cell(number, column), value)
        sheet["A1"].font = Font(bold=True, size=12)
        for cell in sheet[3]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", wrap_text=True)
        for row in self.rows:
            sheet.append([None, *(_xlsx_value(v) for v in row.values)])
            put_text(sheet.cell(sheet.max_row, 1), row.label)
            if row.row_type == "share":
                for cell in sheet[sheet.max_row][1:]:
                    if not isinstance(cell.value, str):
                        cell.number_format = "0.00"
            if row.row_type == "total":
                for cell in sheet[sheet.max_row]:
                    cell.font = Font(bold=True)
        if self.note:
            put_text(sheet.cell(sheet.max_row + 2, 1), self.note)
        sheet.column_dimensions["A"].width = 34
        sheet.freeze_panes = "B4"
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()


def _json_value(value):
    if value is WITHHELD:
        return None
    return float(value) if isinstance(value, Decimal) else value


def _display(value) -> str:
    if value is WITHHELD:
        return WITHHELD_MARK
    if value is None or value == 0:
        return ZERO
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _xlsx_value(value):
    if value is WITHHELD:
        return WITHHELD_MARK
    if value is None or value == 0:
        return ZERO
    return float(value) if isinstance(value, Decimal) else value


def _title(catalog: Catalog, category_name: str, from_year: int, to_year: int, subject: str) -> str:
    span = (
        f"民國{roc_year(from_year)}年"
        if from_year == to_year
        else f"民國{roc_year(from_year)}年至{roc_year(to_year)}年"
    )
    return f"{span}{catalog.plan.city}{category_name}案{subject}"


def _category_name(catalog: Catalog, category: str | None) -> str:
    return catalog.crime_category(category).name if category else "各"


def _table(
    kind, catalog, category, from_year, to_year, subject, label_header, columns, rows, **extra
) -> Table:
    """A table of the case records of `category` (None: all) over the years, titled as printed."""
    name = _category_name(catalog, category)
    return Table(
        kind=kind,
        title=_title(catalog, name, from_year, to_year, subject),
        category=category,
        category_name=name,
        from_year=from_year,
        to_year=to_year,
        label_header=label_header,
        columns=columns,
        rows=rows,
        **extra,
    )


def _select(cells: Iterable, role: str, category: str | None, from_year: int, to_year: int) -> list:
    return [
        c
        for c in cells
        if c.role == role and from_year <= c.year <= to_year and (category is None or c.category == category)
    ]


def _block_relations(start: int, end: int, width: int) -> dict:
    """How the values of one sex's block add up: rows[start] its total row, rows[start + 1] its
    shares, then its detail rows up to `end`. Each row's first value is the sum of the others,
    the total row the sum of the detail rows, each share a total-row count over the first."""
    total, details = start, range(start + 2, end)
    relations = [((row, 0), tuple((row, c) for c in range(1, width))) for row in (total, *details)]
    relations += [((total, c), tuple((row, c) for row in details)) for c in range(width)]
    shares = [((start + 1, c), (total, c), (total, 0)) for c in range(width)]
    return {"relations": relations, "shares": shares}


def _merge(*parts: dict) -> dict:
    return {key: [item for part in parts for item in part[key]] for key in ("relations", "shares")}


def _total_and_share(label: str, sex: str, counts: list[int]) -> list[Row]:
    total = sum(counts)
    return [
        Row(label, "total", sex, None, [total, *counts]),
        Row(
            SHARE_LABEL, "share", sex, None, [share_pct(total, total), *(share_pct(n, total) for n in counts)]
        ),
    ]


def suspects_table(
    catalog: Catalog, cells: Iterable[CaseCell], category: str | None, from_year: int, to_year: int
) -> Table:
    """Suspects by sex x crime cause x age band (Tables 1 and 3)."""
    selected = _select(cells, "suspect", category, from_year, to_year)
    bands = [band.id for band in catalog.age_bands]
    causes = {code.id: (index, code) for index, code in enumerate(catalog.causes)}
    unknown = next(code.id for code in catalog.causes if code.residual)
    rows: list[Row] = []
    blocks = []
    for sex, sex_label in SEXES:
        start = len(rows)
        counts: Counter = Counter()
        for cell in selected:
            if cell.sex == sex and cell.age_band in bands:
                cause = cell.cause if cell.cause in causes else unknown
                counts[(cause, cell.age_band)] += cell.count
        rows += _total_and_share(
            f"{sex_label}總計", sex, [sum(n for (_, b), n in counts.items() if b == band) for band in bands]
        )
        by_cause = {cause: [counts[(cause, band)] for band in bands] for cause in causes}
        shown = [cause for cause, values in by_cause.items() if sum(values)]
        shown.sort(key=lambda c: (causes[c][1].residual, -sum(by_cause[c]), causes[c][0]))
        for cause in shown:
            values = by_cause[cause]
            rows.append(Row(causes[cause][1].label, "cause", sex, cause, [sum(values), *values]))
        blocks.append(_block_relations(start, len(rows), 1 + len(bands)))
    return _table(
        "suspects",
        catalog,
        category,
        from_year,
        to_year,
        "犯罪原因—年齡別",
        "犯罪原因別",
        ["總計", *(band.label for band in catalog.age_bands)],
        rows,
        **_merge(*blocks),
    )


def victims_table(
    catalog: Catalog, cells: Iterable[CaseCell], category: str | None, from_year: int, to_year: int
) -> Table:
    """Victims by sex x age band x relationship to the suspect (Table 2)."""
    selected = _select(cells, "victim", category, from_year, to_year)
    relationships = [code.id for code in catalog.relationships]
    unknown = next(code.id for code in catalog.relationships if code.residual)
    rows: list[Row] = []
    blocks = []
    for sex, sex_label in SEXES:
        start = len(rows)
        counts: Counter = Counter()
        for cell in selected:
            if cell.sex == sex:
                relationship = cell.relationship if cell.relationship in relationships else unknown
                counts[(cell.age_band, relationship)] += cell.count
        rows += _total_and_share(
            f"{sex_label}總計",
            sex,
            [sum(n for (_, r), n in counts.items() if r == rel) for rel in relationships],
        )
        for band in catalog.age_bands:
            values = [counts[(band.id, rel)] for rel in relationships]
            rows.append(Row(band.label, "age_band", sex, band.id, [sum(values), *values]))
        blocks.append(_block_relations(start, len(rows), 1 + len(relationships)))
    return _table(
        "victims",
        catalog,
        category,
        from_year,
        to_year,
        "被害人與嫌疑人關係",
        "年齡別",
        ["總計", *(code.label for code in catalog.relationships)],
        rows,
        **_merge(*blocks),
    )


def types_table(
    catalog: Catalog, cells: Iterable[TypeCell], category: str | None, from_year: int, to_year: int
) -> Table:
    """Counts of the 10 types of digital gender-based violence by role and sex."""
    counts: Counter = Counter()
    for cell in cells:
        if from_year <= cell.year <= to_year and (category is None or cell.category == category):
            counts[(cell.type, cell.role, cell.sex)] += cell.count
    role_labels, sex_labels = dict(ROLES), dict(SEXES)
    columns = [f"{role_labels[role]}{sex_labels.get(sex, '總計')}" for role, sex in TYPE_COLUMNS]
    rows, relations = [], []
    for number, gbv_type in enumerate(catalog.gbv_types):
        values = []
        for role, _ in ROLES:  # in TYPE_COLUMNS order: the role's total, then its sexes
            by_sex = [counts[(gbv_type.number, role, sex)] for sex, _ in SEXES]
            first = len(values)
            relations.append(((number, first), tuple((number, first + 1 + i) for i in range(len(by_sex)))))
            values += [sum(by_sex), *by_sex]
        rows.append(Row(f"{gbv_type.number}.{gbv_type.name}", "type", None, str(gbv_type.number), values))
    return _table(
        "types",
        catalog,
        category,
        from_year,
        to_year,
        "數位/網路性別暴力類型—依角色及性別分",
        "類型別",
        columns,
        rows,
        unit="人",
        relations=relations,
    )


def build(
    kind: str,
    catalog: Catalog,
    cells: Iterable[CaseCell],
    type_cells: Iterable[TypeCell],
    category: str | None,
    from_year: int,
    to_year: int,
) -> Table:
    """The table of one kind for a span of years and a category (None: every category)."""
    if kind == "suspects":
        return suspects_table(catalog, cells, category, from_year, to_year)
    if kind == "victims":
        return victims_table(catalog, cells, category, from_year, to_year)
    if kind == "types":
        return types_table(catalog, type_cells, category, from_year, to_year)
    raise ValueError(f"unknown table kind {kind!r}")
