"""Anonymous case records: validation, PII rejection and all-or-nothing bulk upserts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from services.intake import feed, personal_data
from services.intake.models import CaseRecord
from shared import rules as plan_rules
from shared.catalog import Catalog
from shared.changes import CaseChange
from shared.errors import Invalid

FIELDS = (
    "ref",
    "date",
    "category",
    "types",
    "role",
    "sex",
    "age_band",
    "age",
    "cause",
    "relationship",
    "district",
)
STORED = (
    "occurred_on",
    "category",
    "role",
    "sex",
    "age_band",
    "cause",
    "relationship",
    "district",
    "types",
)
# A case's reference: a short prefix, then letters, digits and single hyphens, e.g. NTPC-111-0001.
# At most 7 digits stand in a row (a hyphen does not break a row): a national ID has 9 after its
# letter and a phone number at least 9, so a reference cannot carry either, however it is split.
REF_MAX_LENGTH = 32
REF_PATTERN = re.compile(r"[A-Za-z](?:-?[A-Za-z0-9])*")
_LONG_NUMBER = re.compile(r"(?:[0-9]-?){8}")
REF_RULE = (
    f"1-{REF_MAX_LENGTH} letters, digits and single hyphens, starting with a letter, with at most 7 "
    "digits in a row (hyphens do not break a row), e.g. NTPC-111-0001"
)


def ref_problem(ref: str) -> str | None:
    """Why a (trimmed) reference is not acceptable, or None."""
    if len(ref) > REF_MAX_LENGTH or not REF_PATTERN.fullmatch(ref) or _LONG_NUMBER.search(ref):
        return f"Must be {REF_RULE}."
    return None


def reject_pii(rows: list[dict], first_row_number: int = 1) -> None:
    """Refuse the whole upload if any field of any row looks like personal data (never repeating it)."""
    if personal_data.find_in(rows) is None:  # almost every upload: one look at all of its text
        return
    for index, row in enumerate(rows):
        for field, value in row.items():
            named = personal_data.find(str(field)) is None
            kind = personal_data.find_in(value) if named else personal_data.find(str(field))
            if kind:
                number = index + first_row_number
                where = f"field '{field}'" if named else "a field name"
                raise Invalid(
                    f"Row {number}, {where} looks like {kind.name}. Case records must be anonymous: "
                    "remove personal data and upload again. Nothing was saved.",
                    {str(number): {str(field) if named else "field name": [f"Looks like {kind.name}."]}},
                )


def check_record(catalog: Catalog, record: dict, dates: tuple[dt.date, dt.date]) -> dict:
    """Validate one record against the catalog's code lists and the days a case may fall on
    (shared/rules.py, case_dates); return the stored columns."""
    errors: dict[str, list[str]] = {}
    first, last = dates
    if not first <= record["date"] <= last:
        errors["date"] = [f"Must be from {first} to {last}: the plan's years, up to today (Asia/Taipei)."]

    def code(field, lookup, required=True):
        value = record.get(field)
        if value is None:
            if required:
                errors[field] = ["Missing data for required field."]
            return None
        try:
            lookup(value)
        except KeyError:
            errors[field] = [f"Unknown code {value!r}."]
        return value

    category = code("category", catalog.crime_category)
    role = record.get("role")
    if role not in ("suspect", "victim"):
        errors["role"] = ["Must be 'suspect' or 'victim'."]
    if record.get("sex") not in ("male", "female"):
        errors["sex"] = ["Must be 'male' or 'female'."]
    age_band = record.get("age_band")
    if record.get("age") is not None:
        derived = catalog.age_band_for(record["age"]).id
        if age_band is not None and age_band != derived:
            errors["age_band"] = [f"Age {record['age']} belongs to band {derived}, not {age_band}."]
        age_band = derived
    elif age_band is None:
        errors["age_band"] = ["Give an age band or an age."]
    else:
        code("age_band", catalog.age_band)
    cause = code("cause", catalog.cause, required=False)
    relationship = code("relationship", catalog.relationship, required=False)
    if role == "suspect" and relationship is not None:
        errors["relationship"] = ["Only victims have a relationship to the suspect."]
    if role == "victim" and cause is not None:
        errors["cause"] = ["Only suspects have a cause."]
    district = code("district", catalog.district, required=False)
    numbers = {t.number for t in catalog.gbv_types}
    types = sorted(set(record.get("types") or []))
    if any(t not in numbers for t in types):
        errors["types"] = [f"Types are numbered {min(numbers)}-{max(numbers)}."]
    if errors:
        raise Invalid("Invalid case record.", errors)
    return {
        "occurred_on": record["date"],
        "category": category,
        "role": role,
        "sex": record["sex"],
        "age_band": age_band,
        "cause": cause,
        "relationship": relationship,
        "district": district,
        "types": types,
    }


def case_change(ref: str, columns: dict) -> CaseChange:
    return CaseChange(
        ref=ref,
        date=columns["occurred_on"],
        category=columns["category"],
        types=tuple(columns["types"]),
        role=columns["role"],
        sex=columns["sex"],
        age_band=columns["age_band"],
        cause=columns["cause"],
        relationship=columns["relationship"],
        district=columns["district"],
    )


def upsert_records(
    session: Session, catalog: Catalog, records: list[dict], now, first_row_number: int = 1
) -> dict:
    """Insert new refs, update changed ones, leave identical ones alone: all or nothing. Uploads are
    screened for personal data where they enter, before anything else is checked (the JSON schema,
    records_from_csv)."""
    dates = plan_rules.case_dates(catalog, now)
    checked: dict[str, dict] = {}
    errors = {}
    for index, record in enumerate(records):
        number = index + first_row_number
        try:
            columns = check_record(catalog, record, dates)
        except Invalid as error:
            errors[str(number)] = error.errors
            continue
        if record["ref"] in checked:
            errors[str(number)] = {"ref": [f"Reference {record['ref']!r} appears twice in this upload."]}
        checked[record["ref"]] = columns
    if errors:
        first = next(iter(errors))
        raise Invalid(f"{len(errors)} row(s) are invalid, first at row {first}. Nothing was saved.", errors)

    existing = _existing(session, list(checked))
    inserts, updates, changes = [], [], []
    for ref, columns in checked.items():
        current = existing.get(ref)
        if current is None:
            inserts.append({"ref": ref, **columns, "updated_at": now})
        elif current[1:] != tuple(columns[c] for c in STORED):
            updates.append({"record_id": current[0], **columns, "updated_at": now})
        else:
            continue
        changes.append(case_change(ref, columns))
    if inserts:
        session.execute(insert(CaseRecord.__table__), inserts)  # Core: one executemany, None kept as NULL
    if updates:
        statement = (
            update(CaseRecord.__table__)
            .where(CaseRecord.__table__.c.id == bindparam("record_id"))
            .values({c: bindparam(c) for c in (*STORED, "updated_at")})
        )
        session.connection().execute(statement, updates)
    feed.record_many(session, changes, now)
    return {
        "received": len(records),
        "created": len(inserts),
        "updated": len(updates),
        "unchanged": len(records) - len(inserts) - len(updates),
    }


def _existing(session: Session, refs: list[str]) -> dict[str, tuple]:
    found = {}
    columns = [CaseRecord.id, *(getattr(CaseRecord, c) for c in STORED)]
    for start in range(0, len(refs), 1000):
        chunk = refs[start : start + 1000]
        for row in session.execute(select(CaseRecord.ref, *columns).where(CaseRecord.ref.in_(chunk))):
            found[row[0]] = tuple(row[1:])
    return found


def parse_csv(text: str) -> list[dict]:
    """Read a CSV upload into raw records; types are separated by ';' or '|'."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _read_rows(reader)
    except csv.Error as error:
        raise Invalid(f"This is not a readable CSV file (line {reader.line_num}): {error}.") from None


def _read_rows(reader: csv.DictReader) -> list[dict]:
    if not reader.fieldnames:
        raise Invalid("The CSV file is empty: the first line must name the columns.")
    unknown = [name for name in reader.fieldnames if name not in FIELDS]
    if unknown:
        reject_pii([{name: name for name in unknown}], 1)
        raise Invalid(
            f"Unknown CSV columns: {', '.join(unknown)}.", {"columns": [f"Allowed: {', '.join(FIELDS)}."]}
        )
    rows = []
    for row in reader:
        if None in row:
            raise Invalid(f"Line {reader.line_num} has more cells than the header.")
        rows.append(
            {key: value.strip() for key, value in row.items() if value is not None and value.strip() != ""}
        )
    return rows


def coerce_csv_row(row: dict) -> dict:
    """Turn a CSV row's text cells into the JSON record shape (numbers, dates, lists)."""
    record = dict(row)
    errors = {}
    if "date" in record:
        try:
            record["date"] = dt.date.fromisoformat(record["date"])
        except ValueError:
            errors["date"] = ["Not a date (YYYY-MM-DD)."]
    else:
        errors["date"] = ["Missing data for required field."]
    if "ref" not in record:
        errors["ref"] = ["Missing data for required field."]
    elif problem := ref_problem(record["ref"]):
        errors["ref"] = [problem]
    if "age" in record:
        try:
            record["age"] = int(record["age"])
            if not 0 <= record["age"] <= 130:
                raise ValueError
        except ValueError:
            errors["age"] = ["Not an age (0-130)."]
    if "types" in record:
        try:
            record["types"] = [int(t) for t in re.split(r"[;|]", record["types"]) if t.strip()]
        except ValueError:
            errors["types"] = ["Type numbers separated by ';'."]
    if errors:
        raise Invalid("Invalid CSV row.", errors)
    return record


def records_from_csv(text: str) -> list[dict]:
    """Parse and coerce a CSV upload; errors name the CSV row (header is row 1)."""
    rows = parse_csv(text)
    reject_pii(rows, first_row_number=2)
    records, errors = [], {}
    for index, row in enumerate(rows):
        try:
            records.append(coerce_csv_row(row))
        except Invalid as error:
            errors[str(index + 2)] = error.errors
    if errors:
        first = next(iter(errors))
        raise Invalid(
            f"{len(errors)} CSV row(s) are invalid, first at row {first}. Nothing was saved.",
            errors,
        )
    return records


def list_records(
    session: Session, *, after_id: int = 0, limit: int = 100, year=None, category=None
) -> list[CaseRecord]:
    query = select(CaseRecord).where(CaseRecord.id > after_id).order_by(CaseRecord.id).limit(limit)
    if year is not None:
        query = query.where(
            CaseRecord.occurred_on >= dt.date(year, 1, 1),
            CaseRecord.occurred_on <= dt.date(year, 12, 31),
        )
    if category is not None:
        query = query.where(CaseRecord.category == category)
    return list(session.scalars(query))
