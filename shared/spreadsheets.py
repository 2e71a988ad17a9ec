"""Text that reaches a CSV or XLSX file stays text: never a formula (formula injection)."""

from __future__ import annotations

from openpyxl.cell import Cell

# A cell starting with one of these is a formula to Excel or LibreOffice.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# The tables print zero as a lone dash, which no spreadsheet reads as a formula.
SAFE_AS_IS = frozenset({"-"})


def is_formula_like(text: str) -> bool:
    return text not in SAFE_AS_IS and text.startswith(FORMULA_TRIGGERS)


def csv_text(value):
    """A CSV cell: formula-like text gets a leading apostrophe, as OWASP recommends."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def put_text(cell: Cell, value) -> Cell:
    """An XLSX cell: text is stored as text, and formula-like text keeps Excel's text prefix."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if is_formula_like(value):
            cell.quotePrefix = True
    return cell
