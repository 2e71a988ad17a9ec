"""A quarterly report as an Excel workbook: a pre-filled template out, a draft back in.

The same lines feed the web form: each action of the bureau with its metrics, units,
planned annual values, the values of earlier quarters and what has been entered.
Reading a workbook back checks every cell and refuses the whole file, naming the sheet,
cell and problem, rather than saving part of it: a value typed anywhere but in an input cell, a
changed fixed cell and an inserted or deleted row are problems too, so nothing typed is lost.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple, get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from services.intake import workbook_limits
from services.intake.report_lines import ReportSheet, plain_number, planned_text, progress_text
from shared import rules as plan_rules
from shared.errors import Invalid
from shared.fields import CONTROL_CHARACTERS, MAX_COUNT
from shared.periods import format_roc_date
from shared.spreadsheets import FORMULA_TRIGGERS

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET = "季報"
# A hidden sheet: the cells drawn from saved data (plan, earlier quarters, progress) as the
# template showed them, since that data may change before the file comes back.
RECORD = "範本原值"
NOTE_LENGTH, NARRATIVE_LENGTH = 2000, 20000
NARRATIVE_LABEL = "本季辦理情形綜合說明"
# A refusal names this many problems at most: a block pasted beside the table would be thousands.
MAX_NAMED = 100

HEADER_ROW, FIRST_ROW = 6, 7
# Column of each field; the input columns are VALUE, NOTE, DELAY and COUNTERMEASURE.
COLUMNS = {
    "program": ("A", "方案", 18),
    "action": ("B", "作法編號", 12),
    "text": ("C", "具體作法", 48),
    "metric": ("D", "指標代碼", 13),
    "metric_name": ("E", "指標", 16),
    "unit": ("F", "單位", 7),
    "planned": ("G", "年度目標", 9),
    "q1": ("H", "第1季", 7),
    "q2": ("I", "第2季", 7),
    "q3": ("J", "第3季", 7),
    "value": ("K", "本季數值", 10),
    "male": ("L", "其中男", 8),
    "female": ("M", "其中女", 8),
    "other": ("N", "其中其他或不詳", 9),
    "note": ("O", "備註", 28),
    "delay_reason": ("P", "落後原因", 28),
    "countermeasure": ("Q", "因應對策", 28),
    "progress": ("R", "進度提示", 26),
}
LAST_COLUMN = "R"
TITLES = {column_index_from_string(letter): title for letter, title, _ in COLUMNS.values()}

INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
THIN = Side(style="thin", color="A6A6A6")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")


# -- writing ------------------------------------------------------------------------
def _set(cell: Cell, value) -> Cell:
    """Write a value; text is always stored as text, never as a formula (formula injection)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_TRIGGERS):
            cell.quotePrefix = True  # and Excel keeps it text even when the cell is edited
    return cell


def _put(cell: Cell, value, *, input_cell: bool = False) -> Cell:
    """Write a value (_set) in the template's style."""
    _set(cell, value)
    cell.border = BORDER
    cell.alignment = WRAP
    if input_cell:
        cell.fill = INPUT_FILL
        cell.protection = Protection(locked=False)
    return cell


def _column(name: str) -> str:
    """The column letter of a field."""
    return COLUMNS[name][0]


def build_workbook(sheet: ReportSheet) -> bytes:
    """The report as a protected workbook whose yellow cells are the only ones open for input."""
    output = io.BytesIO()
    _template(sheet).save(output)
    return output.getvalue()


def _template(sheet: ReportSheet) -> Workbook:
    """The workbook of build_workbook, in memory: the upload is compared with it cell by cell."""
    book = Workbook()
    ws = book.active
    ws.title = SHEET
    record = book.create_sheet(RECORD)
    record.sheet_state = "veryHidden"
    record.protection.sheet = True

    def drawn(ref: str, value) -> Cell:
        """A fixed cell drawn from saved data, recorded as shown."""
        _set(record[ref], value)
        return _put(ws[ref], value)

    ws.merge_cells(f"A1:{LAST_COLUMN}1")
    _put(ws["A1"], f"{sheet.plan_title}　{sheet.bureau.name}　{sheet.quarter.label_zh}季報").font = Font(
        bold=True, size=14
    )
    for row, label, value, code_label, code in (
        (2, "機關", sheet.bureau.name, "機關代碼", sheet.bureau.id),
        (3, "期別", sheet.quarter.label_zh, "期別代碼", str(sheet.quarter)),
    ):
        _put(ws[f"A{row}"], label).font = Font(bold=True)
        _put(ws[f"B{row}"], value)
        _put(ws[f"C{row}"], code_label).font = Font(bold=True)
        _put(ws[f"D{row}"], code)
    _put(ws["A4"], "填報期限").font = Font(bold=True)
    _put(ws["B4"], format_roc_date(sheet.due))
    ws.merge_cells(f"A5:{LAST_COLUMN}5")
    _put(
        ws["A5"],
        "黃色儲存格可填寫：本季數值請填 0 以上的整數，計算人數的指標請分別填寫男、女、其他或不詳（合計自動計算）；"
        "進度落後的作法請填寫落後原因與因應對策。"
        "其他儲存格受保護，請勿變更、插入或刪除列。填好後請於網頁「上傳 Excel」存為草稿。",
    )
    for name, (letter, title, width) in COLUMNS.items():
        cell = _put(ws[f"{letter}{HEADER_ROW}"], title)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        ws.column_dimensions[letter].width = width
        if name in ("q1", "q2", "q3"):
            cell.value = f"{title}已填"
    counts = DataValidation(
        type="whole",
        operator="between",
        formula1="0",
        formula2=str(MAX_COUNT),
        showErrorMessage=True,
        errorTitle="數值有誤",
        error="請填 0 以上的整數。",
    )
    ws.add_data_validation(counts)

    row = FIRST_ROW
    for action in sheet.actions:
        for index, line in enumerate(action.metrics):
            first = index == 0
            _put(ws[f"A{row}"], action.program.name if first else "")
            _put(ws[f"B{row}"], action.action.id)
            _put(ws[f"C{row}"], action.action.text if first else "")
            _put(ws[f"D{row}"], line.metric.id)
            _put(ws[f"E{row}"], line.metric.name)
            _put(ws[f"F{row}"], line.metric.unit)
            drawn(f"G{row}", planned_text(line))
            for q in (1, 2, 3):
                value = line.earlier.get(q) if q < sheet.quarter.quarter else None
                drawn(f"{_column(f'q{q}')}{row}", value if value is not None else "—")
            if line.by_sex is None:
                for sex in plan_rules.SEXES_REPORTED:
                    _put(ws[f"{_column(sex)}{row}"], "—")
                counts.add(_put(ws[f"{_column('value')}{row}"], line.value, input_cell=True))
            else:
                for sex in plan_rules.SEXES_REPORTED:
                    counts.add(_put(ws[f"{_column(sex)}{row}"], line.by_sex[sex], input_cell=True))
                parts = f"{_column('male')}{row}:{_column('other')}{row}"
                # The total is derived: Excel shows it as the parts are typed; the upload never reads it.
                total = ws[f"{_column('value')}{row}"]
                _put(total, None)
                total.value = f'=IF(COUNT({parts})=3,SUM({parts}),"")'
                total.data_type = "f"
            for name in ("note", "delay_reason", "countermeasure"):
                _put(
                    ws[f"{_column(name)}{row}"],
                    (getattr(action, name) or "") if first else "",
                    input_cell=first,
                )
            drawn(f"{_column('progress')}{row}", progress_text(action) if first else "")
            row += 1
    narrative_row = row + 1
    _put(ws[f"A{narrative_row}"], NARRATIVE_LABEL).font = Font(bold=True)
    ws.merge_cells(f"B{narrative_row}:{LAST_COLUMN}{narrative_row}")
    _put(ws[f"B{narrative_row}"], sheet.narrative, input_cell=True)
    ws.row_dimensions[narrative_row].height = 120

    ws.freeze_panes = f"C{FIRST_ROW}"
    ws.protection.sheet = True
    ws.protection.formatColumns = False  # people may still widen columns and rows to read
    ws.protection.formatRows = False
    return book


# -- reading ------------------------------------------------------------------------
class _CellProblem(Exception):
    """A cell whose content cannot be taken."""


def _short(text: str) -> str:
    """Long cell text cut for a message."""
    return text if len(text) <= 20 else text[:20] + "…"


def _count(cell: Cell) -> int | None:
    """A count cell: empty, or a whole number from 0 up; anything else is a problem."""
    value = cell.value
    if cell.data_type == "f":
        raise _CellProblem("不可使用公式，請直接填入數值。")
    if value is None:
        return None
    if isinstance(value, bool):
        raise _CellProblem("應為數值，不可為 TRUE/FALSE。")
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        raise _CellProblem("應為數值，不可為日期或時間。")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if re.fullmatch(r"[0-9]+", text):
            value = int(text)
        elif re.fullmatch(r"-\s*[0-9]+(\.[0-9]+)?", text):
            raise _CellProblem(f"不可為負數（{text}）。")
        else:
            raise _CellProblem(f"應為數值，不可填入文字（「{_short(text)}」）。")
    if isinstance(value, float):
        if value < 0:
            raise _CellProblem(f"不可為負數（{plain_number(value)}）。")
        if not value.is_integer():
            raise _CellProblem(f"應為整數，不可有小數（{value}）。")
        value = int(value)
    if value < 0:
        raise _CellProblem(f"不可為負數（{value}）。")
    if value > MAX_COUNT:
        raise _CellProblem(f"數值過大（{value}）。")
    return value


def _text(cell: Cell, max_length: int) -> str | None:
    """A text cell: trimmed, without control characters or formulas, within its length."""
    value = cell.value
    if cell.data_type == "f":
        raise _CellProblem("不可使用公式，請直接填入文字。")
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if CONTROL_CHARACTERS.search(text):
        raise _CellProblem("含有無法處理的控制字元，請刪除後再上傳。")
    if len(text) > max_length:
        raise _CellProblem(f"最多 {max_length} 字（目前 {len(text)} 字）。")
    return text or None


def _plain(cell: Cell | None) -> str:
    """A cell's value as trimmed text, for comparing the fixed cells (40 and 40.0 alike)."""
    value = None if cell is None else cell.value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def _cells(ws) -> dict[tuple[int, int], Cell]:
    """The cells a sheet holds, by (row, column). ws.iter_rows() would create every cell of the
    used range: one value typed at XFD1048576 would make that seventeen billion cells."""
    return dict(ws._cells)


def _at(cells: dict, ref: str) -> str:
    """The trimmed text of one cell, without creating it."""
    return _plain(cells.get(coordinate_to_tuple(ref)))


def _open(raw: bytes):
    """The uploaded workbook, refusing what is not an .xlsx, and what passes a limit (workbook_limits)
    before openpyxl builds it."""
    workbook_limits.inspect(raw)
    try:
        return load_workbook(io.BytesIO(raw), data_only=False)
    except Exception:  # noqa: BLE001 - any unreadable upload gets the same answer
        raise Invalid(
            "無法讀取檔案：請上傳由本系統下載的 Excel 檔（.xlsx）。",
            {"file": ["不是可讀取的 .xlsx 檔。"]},
        ) from None


def read_workbook(raw: bytes, sheet: ReportSheet) -> dict:
    """The narrative and actions of an uploaded workbook, ready for save_report; all or nothing."""
    book = _open(raw)
    if SHEET not in book.sheetnames:
        raise Invalid(
            f"找不到工作表「{SHEET}」：請使用由本系統下載的 Excel 檔。",
            {"file": [f"缺少工作表「{SHEET}」。"]},
        )
    ws = book[SHEET]
    cells = _cells(ws)
    template = _template(sheet)
    expected = _cells(template[SHEET])
    narrative_row = FIRST_ROW + sum(len(action.metrics) for action in sheet.actions) + 1
    parting = _parting(cells, expected, narrative_row)
    # From the row where the file's rows and the template's part ways nothing is where the
    # template put it: one message says so, rather than one per shifted row.
    end = parting[0] if parting else math.inf
    if end > 3:  # the codes of D2 and D3 are in place
        _check_identity(cells, sheet)
    problems: dict[str, list[str]] = {}

    def problem(ref: str, text: str) -> None:
        problems.setdefault(f"{SHEET}!{ref}", []).append(text)

    if parting:
        problem(f"{end}:{end}", f"{parting[1]}：請勿插入或刪除列，請重新下載範本後再填寫。")
    # A file downloaded before the hidden record existed is compared with the data as it is now.
    shown = _cells(book[RECORD] if RECORD in book.sheetnames else template[RECORD])
    drawn = set(_cells(template[RECORD]))
    inputs = {place for place, cell in expected.items() if cell.protection.locked is False}
    for row, column in sorted((set(expected) | set(cells)) - inputs):
        if row >= end:
            continue
        template_cell = expected.get((row, column))
        want = _plain((shown if (row, column) in drawn else expected).get((row, column)))
        got = _plain(cells.get((row, column)))
        formula = template_cell is not None and template_cell.data_type == "f"
        if want == got or (formula and _formula(want) == _formula(got)):
            continue
        metric_row = FIRST_ROW <= row < narrative_row - 1
        problem(f"{get_column_letter(column)}{row}", _fixed_problem(column, want, got, formula, metric_row))

    actions = []
    row = FIRST_ROW
    for action in sheet.actions:
        entry = {"action": action.action.id, "values": {}}
        for index, line in enumerate(action.metrics):
            codes = (_at(cells, f"B{row}"), _at(cells, f"D{row}"))
            # A row whose codes changed is named above; its inputs are not taken.
            if row < end and codes == (action.action.id, line.metric.id):
                if line.by_sex is None:
                    ref = f"{_column('value')}{row}"
                    try:
                        entry["values"][line.metric.id] = _count(ws[ref])
                    except _CellProblem as error:
                        problem(ref, str(error))
                else:
                    parts = entry.setdefault("by_sex", {}).setdefault(line.metric.id, {})
                    for sex in plan_rules.SEXES_REPORTED:
                        ref = f"{_column(sex)}{row}"
                        try:
                            parts[sex] = _count(ws[ref])
                        except _CellProblem as error:
                            problem(ref, str(error))
                if index == 0:
                    for name in ("note", "delay_reason", "countermeasure"):
                        ref = f"{_column(name)}{row}"
                        try:
                            entry[name] = _text(ws[ref], NOTE_LENGTH)
                        except _CellProblem as error:
                            problem(ref, str(error))
            row += 1
        actions.append(entry)
    narrative = None
    if narrative_row < end and _at(cells, f"A{narrative_row}") == NARRATIVE_LABEL:
        try:
            narrative = _text(ws[f"B{narrative_row}"], NARRATIVE_LENGTH)
        except _CellProblem as error:
            problem(f"B{narrative_row}", str(error))
    if problems:
        raise _rejected(problems)
    return {"narrative": narrative or "", "actions": actions}


def _check_identity(cells: dict, sheet: ReportSheet) -> None:
    """Refuse another bureau's or quarter's workbook at once: none of its other cells matter."""
    problems = {}
    for ref, expected, what in (
        ("D2", sheet.bureau.id, f"機關代碼應為「{sheet.bureau.id}」（{sheet.bureau.name}）"),
        ("D3", str(sheet.quarter), f"期別代碼應為「{sheet.quarter}」（{sheet.quarter.label_zh}）"),
    ):
        found = _at(cells, ref)
        if found != expected:
            problems[f"{SHEET}!{ref}"] = [f"{what}，檔案中為「{_short(found)}」：這不是本季本機關的報表。"]
    if problems:
        raise _rejected(problems)


def _row_key(cells: dict, row: int) -> tuple[str, ...]:
    """What identifies a row: the narrative label, or its fixed cells in columns A, B and D."""
    label = _plain(cells.get((row, 1)))
    if label == NARRATIVE_LABEL:
        return (label,)
    return label, _plain(cells.get((row, 2))), _plain(cells.get((row, 4)))


def _parting(cells: dict, expected: dict, last_row: int) -> tuple[int, str] | None:
    """The first row where rows were inserted or deleted, and how many; None if none were.

    Rows count as inserted (deleted) there when the template's later rows are found that many
    rows lower (higher) in the file more often than not, and more often than in their place:
    so one changed row is no shift, and one changed row below a shift does not hide it."""
    template = [_row_key(expected, row) for row in range(1, last_row + 1)]
    found = [_row_key(cells, row) for row in range(1, 2 * last_row + 1)]

    def agreement(start: int, shift: int) -> int:
        """The template's rows from `start` on found `shift` rows lower, less those not found so."""
        rows = range(start + max(0, -shift), last_row)
        return sum(1 if found[index + shift] == template[index] else -1 for index in rows)

    for start in (index for index, key in enumerate(template) if found[index] != key):
        shifts = [shift for shift in range(start + 1 - last_row, last_row) if shift]
        score, _, shift = max((agreement(start, shift), -abs(shift), shift) for shift in shifts)
        if score > max(0, agreement(start, 0)):
            many = "一列" if abs(shift) == 1 else f" {abs(shift)} 列"
            return start + 1, ("多了" if shift > 0 else "少了") + many
    return None


def _formula(text: str) -> str:
    """A formula as Excel or LibreOffice may write it back: without spaces, in capitals."""
    return re.sub(r"\s+", "", text).upper()


def _fixed_problem(column: int, want: str, got: str, formula: bool, metric_row: bool) -> str:
    """Why a cell outside the input cells does not show what the template wrote there."""
    if formula:
        return "合計由其中男、女、其他或不詳自動計算，不可變更：請填寫其中男、女、其他或不詳。"
    if not want:
        return f"這裡不是填寫欄位，「{_short(got)}」不會匯入：請填在黃色儲存格，或刪除後再上傳。"
    title = TITLES[column] if metric_row else ""
    advice = "請勿變更、插入或刪除列。" if metric_row and column in (2, 4) else "受保護的儲存格不可變更。"
    return f"{title}應為「{_short(want)}」，檔案中為「{_short(got)}」：{advice}"


def is_cell_ref(key: str) -> bool:
    """Whether an error key names a cell or row of the workbook (季報!K8, 季報!9:9) rather than a field."""
    return key.startswith(f"{SHEET}!")


def describe(ref: str, texts: list[str]) -> str:
    """One problem as people read it: 工作表「季報」儲存格 K9：…, or 工作表「季報」第 9 列：…"""
    sheet_name, _, place = ref.partition("!")
    where = f"第 {place.partition(':')[0]} 列" if ":" in place else f"儲存格 {place}"
    return f"工作表「{sheet_name}」{where}：{' '.join(texts)}"


def _position(ref: str) -> tuple[int, int]:
    """Where a problem is, to list problems in reading order; a whole row comes first in its row."""
    place = ref.partition("!")[2]
    return (int(place.partition(":")[0]), 0) if ":" in place else coordinate_to_tuple(place)


def _rejected(problems: dict[str, list[str]]) -> Invalid:
    """The refusal of a whole upload; its errors are keyed by cell or row, as 季報!K8 or 季報!9:9."""
    named = sorted(problems.items(), key=lambda item: _position(item[0]))[:MAX_NAMED]
    listed = [describe(ref, texts) for ref, texts in named[:10]]
    more = f"（另有 {len(problems) - 10} 處）" if len(problems) > 10 else ""
    return Invalid(
        f"上傳的 Excel 有 {len(problems)} 處錯誤，未儲存任何資料：" + "；".join(listed) + more,
        dict(named),
    )
