"""An uploaded .xlsx inspected before openpyxl builds it: a workbook bomb costs its sender, not the server.

openpyxl turns every merged cell, every sheet listed in workbook.xml and every cell into Python
objects: a 10 KB file with one merged range of a million cells took 21 s and 285 MB, and 5,000
sheets pointing at one part 86 s and 1 GB (issue 14). So the archive is measured first, and its
XML is read as a stream (defusedxml's expat reader: no DTD, no entities, nothing kept but
counters), stopping at the first limit passed, before openpyxl sees the file.

The limits are the product's own report template with a wide margin (README, "Limits and choices"): the
largest bureau's template (警察局, 23 metrics) has 2 sheets, 31 rows, 18 columns (A-R), about
500 cells, 3 merged ranges of 17-18 cells, 10 parts and at most ~300 KB unpacked with every input
cell filled to its length limit. Excel and LibreOffice add parts (shared strings, calcChain,
docProps) when they save it; no copy saved by either could be checked on these machines, hence the margin.
`tests/intake/test_workbook_limits.py` checks every bureau's template against them.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from xml.sax import SAXException, handler

from defusedxml import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser
from openpyxl.packaging.manifest import Manifest
from openpyxl.packaging.relationship import get_dependents, get_rels_path
from openpyxl.reader.excel import _find_workbook_part
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.xml.constants import ARC_CONTENT_TYPES
from openpyxl.xml.functions import fromstring

from shared.errors import Invalid

MB = 1024 * 1024
_CHUNK = 64 * 1024  # less than LIMITS.run_bytes


@dataclass(frozen=True)
class WorkbookLimits:
    compressed_bytes: int  # the uploaded file
    unpacked_bytes: int  # all its parts unpacked, as the archive declares them (zipfile holds them to it)
    parts: int  # entries of the archive
    sheets: int  # sheets listed in the workbook part
    rows: int  # the highest row of a sheet, and rows present in it
    columns: int  # the last column of a sheet
    cells: int  # cells present in one sheet; also the cells its hyperlinks (or a part's comments) cover
    merged_ranges: int  # merged ranges of one sheet
    merged_cells: int  # cells covered by the merged ranges of one sheet
    items: int  # XML elements and attributes of all parts together (sheets, styles, strings, drawings…)
    run_bytes: int  # from one "<" to the next: a tag with its attributes, and the text after it

    @property
    def last_cell(self) -> str:
        return f"{get_column_letter(self.columns)}{self.rows}"


LIMITS = WorkbookLimits(
    compressed_bytes=2 * MB,  # the filled-in template: ~12-200 KB
    unpacked_bytes=8 * MB,  # ~300 KB at most
    parts=100,  # 10; Excel's saves add a dozen or so
    sheets=8,  # 2
    rows=1_000,  # 31
    columns=78,  # 18 (A-R); BZ
    cells=5_000,  # ~500
    merged_ranges=50,  # 3
    merged_cells=2_000,  # 53
    items=60_000,  # ~4,400; more once Excel has saved it (shared strings, a larger styles part)
    run_bytes=128 * 1024,  # a narrative of 20,000 characters, each escaped as &amp;, is ~100 KB
)

_AGAIN = "請重新下載範本，填寫後再上傳。"


def _refuse(what: str) -> Invalid:
    """A limit passed: one sentence naming it, for the page's file input and the API's `errors.file`."""
    message = f"檔案超過上限：{what}{_AGAIN}"
    return Invalid(message, {"file": [message]})


def _unreadable() -> Invalid:
    message = "無法讀取檔案：請上傳由本系統下載的 Excel 檔（.xlsx）。"
    return Invalid(message, {"file": ["不是可讀取的 .xlsx 檔。"]})


def _size(count: int) -> str:
    return f"{count / MB:.1f} MB" if count >= MB / 10 else f"{count / 1024:.0f} KB"


def inspect(raw: bytes, limits: WorkbookLimits = LIMITS) -> None:
    """Refuse (Invalid, naming the limit) a file openpyxl would spend unbounded time or memory on."""
    if len(raw) > limits.compressed_bytes:
        raise _refuse(f"檔案大小 {_size(len(raw))}，上限 {_size(limits.compressed_bytes)}。")
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except Exception:  # noqa: BLE001 - whatever is wrong with a zip, the answer is the same
        raise _unreadable() from None
    with archive:
        # zipfile has read the central directory: the file limit bounds it (~20,000 entries, ~0.2 s).
        entries = archive.infolist()
        if len(entries) > limits.parts:
            raise _refuse(f"壓縮檔內有 {len(entries):,} 個項目，上限 {limits.parts} 個。")
        unpacked = sum(entry.file_size for entry in entries)
        if unpacked > limits.unpacked_bytes:
            raise _refuse(f"解壓後 {_size(unpacked)}，上限 {_size(limits.unpacked_bytes)}。")
        try:
            _Package(archive, limits).inspect()
        except Invalid:
            raise
        except Exception:  # noqa: BLE001 - a damaged, encrypted or unsupported entry, a bad CRC
            raise _unreadable() from None


class _Package:
    """The parts of one archive, each streamed once: the sheets as openpyxl will find them
    ([Content_Types].xml, the workbook part and its relationships), every other part counted."""

    def __init__(self, archive: zipfile.ZipFile, limits: WorkbookLimits):
        self.archive, self.limits = archive, limits
        self.names = set(archive.namelist())
        self.done: set[str] = set()
        self.long_run = re.compile(rb"<[^<]{%d}" % limits.run_bytes)
        self.items = 0  # counted over every part

    def inspect(self) -> None:
        sheets: dict[str, str] = {}  # part name: sheet name
        if ARC_CONTENT_TYPES in self.names:
            self.scan(ARC_CONTENT_TYPES, _Part(self, ARC_CONTENT_TYPES))
            sheets = self.sheets(self.workbook_part())
        for name in sorted(self.names):
            if name in sheets:  # even a part read already as something else: openpyxl reads it as a sheet
                self.scan(name, _Sheet(self, sheets[name]))
            elif name not in self.done:
                self.scan(name, _Part(self, name))

    def workbook_part(self) -> str | None:
        try:
            manifest = Manifest.from_tree(fromstring(self.archive.read(ARC_CONTENT_TYPES)))
            name = _find_workbook_part(manifest).PartName[1:]
        except Exception:  # noqa: BLE001 - openpyxl refuses such a file itself; its parts are still counted
            return None
        return name if name in self.names else None

    def sheets(self, workbook: str | None) -> dict[str, str]:
        """Each sheet's part, resolved as openpyxl resolves it; two sheets sharing a part are refused."""
        if workbook is None:
            return {}
        listed = _Workbook(self, workbook)
        self.scan(workbook, listed)
        rels = get_rels_path(workbook)
        if rels not in self.names:
            return {}
        self.scan(rels, _Part(self, rels))
        try:
            relationships = get_dependents(self.archive, rels)
        except Exception:  # noqa: BLE001 - unreadable relationships: openpyxl refuses the file
            raise _unreadable() from None
        parts: dict[str, str] = {}
        for sheet_name, rid in listed.sheets:
            relationship = relationships.get(rid) if rid else None
            target = relationship.target if relationship is not None else None
            if target in parts:
                raise _refuse(
                    f"工作表「{sheet_name}」與「{parts[target]}」指向同一份內容（{target}），範本的每個工作表各有自己的內容。"
                )
            if target is not None:
                parts[target] = sheet_name
        return {target: name for target, name in parts.items() if target in self.names}

    def scan(self, name: str, part: _Part) -> None:
        """Stream one part through the defused parser. A part that is not XML (an image) fails at its
        first chunk and is skipped; so is the rest of a part after an XML error: openpyxl stops there too."""
        self.done.add(name)
        parser = DefusedExpatParser(namespaceHandling=1, forbid_dtd=True)
        parser.setContentHandler(part)
        parser.setFeature(handler.feature_namespaces, True)
        since_tag = b""  # from the last "<" read
        with self.archive.open(name) as stream:
            try:
                while chunk := stream.read(_CHUNK):
                    # expat hands a start tag over whole: 8 MB of attributes in one tag would cost
                    # seconds and hundreds of MB before any count could stop it. (The first chunk is
                    # shorter than a run may be: a part that is not XML has failed before any run.)
                    since_tag += chunk
                    if self.long_run.search(since_tag):
                        raise _refuse(
                            f"「{name}」中有超過 {self.limits.run_bytes // 1024} KB 的單一 XML 標記或文字。"
                        )
                    parser.feed(chunk)
                    since_tag = since_tag[since_tag.rfind(b"<") :] if b"<" in since_tag else since_tag
                parser.close()
            except DefusedXmlException:
                raise _unreadable() from None
            except SAXException:
                return


def _bounds(ref: str) -> tuple[int, int, int, int]:
    """A cell or range reference as openpyxl reads it: (min_col, min_row, max_col, max_row)."""
    try:
        bounds = range_boundaries(ref)
    except (ValueError, TypeError):
        raise _unreadable() from None
    if None in bounds:  # a whole row or column (A:A, 1:1): beyond any template
        raise _unreadable()
    return bounds


def _area(bounds: tuple[int, int, int, int]) -> int:
    min_col, min_row, max_col, max_row = bounds
    return (max_col - min_col + 1) * (max_row - min_row + 1)


class _Part(handler.ContentHandler):
    """Any XML part: its elements counted; comments cover no more cells than a sheet may hold."""

    def __init__(self, package: _Package, name: str):
        super().__init__()
        self.package, self.limits, self.name = package, package.limits, name
        self.linked_cells = 0

    ref_word = "的 "  # how a reference is introduced in a message

    def where(self) -> str:
        return f"「{self.name}」"

    def startElementNS(self, name, qname, attrs):
        self.package.items += 1 + len(attrs)
        if self.package.items > self.limits.items:
            raise _refuse(f"檔案的 XML 內容超過 {self.limits.items:,} 個元素與屬性（在{self.where()}）。")
        self.element(name[1], attrs)

    def element(self, local: str, attrs) -> None:
        if local == "comment":
            self.linked(attrs.get((None, "ref")), "註解")

    def outside(self, ref: str) -> Invalid:
        return _refuse(
            f"{self.where()}{self.ref_word}{ref} 超出可用的範圍 A1:{self.limits.last_cell}"
            f"（最多 {self.limits.rows:,} 列、{self.limits.columns} 欄）。"
        )

    def bounded(self, ref: str) -> tuple[int, int, int, int]:
        bounds = _bounds(ref)
        if bounds[2] > self.limits.columns or bounds[3] > self.limits.rows:
            raise self.outside(ref)
        return bounds

    def linked(self, ref: str | None, what: str) -> None:
        """A hyperlink or comment: openpyxl puts it on every cell of its range."""
        if ref is None:
            return
        self.linked_cells += _area(self.bounded(ref))
        if self.linked_cells > self.limits.cells:
            raise _refuse(f"{self.where()}的{what}涵蓋超過 {self.limits.cells:,} 個儲存格。")


class _Workbook(_Part):
    """The workbook part: the sheets it lists, by name and relationship id."""

    def __init__(self, package: _Package, name: str):
        super().__init__(package, name)
        self.sheets: list[tuple[str, str | None]] = []

    def element(self, local: str, attrs) -> None:
        if local != "sheet":
            return
        if len(self.sheets) >= self.limits.sheets:
            raise _refuse(f"活頁簿列出超過 {self.limits.sheets} 個工作表（範本有 2 個）。")
        rid = next((value for (ns, key), value in attrs.items() if ns and key == "id"), None)
        self.sheets.append((attrs.get((None, "name"), "?")[:31], rid))


class _Sheet(_Part):
    """A worksheet: its <dimension>, the rows and cells present, merged ranges and hyperlinks."""

    def __init__(self, package: _Package, sheet_name: str):
        super().__init__(package, sheet_name)
        self.row = self.column = 0
        self.row_beyond = False  # named by its first cell, or when it ends without one
        self.dimension_beyond: str | None = None
        self.rows = self.cells = 0
        self.merged_ranges = self.merged_cells = 0

    ref_word = "儲存格 "

    def where(self) -> str:
        return f"工作表「{self.name}」"

    def element(self, local: str, attrs) -> None:
        limits = self.limits
        if local == "dimension":
            ref = attrs.get((None, "ref"))
            if ref:
                bounds = _bounds(ref)
                if bounds[2] > limits.columns or bounds[3] > limits.rows:
                    self.dimension_beyond = ref  # refused at the end, unless a cell beyond it is named first
        elif local == "row":
            self.rows += 1
            self.row = self._index(attrs.get((None, "r")), self.row + 1)
            self.column = 0
            self.row_beyond = self.row > limits.rows
            if self.rows > limits.rows:
                raise _refuse(f"{self.where()}超過 {limits.rows:,} 列（範本可用 A1:{limits.last_cell}）。")
        elif local == "c":
            self.cells += 1
            ref = attrs.get((None, "r"))
            if ref:
                self.column, self.row = _bounds(ref)[:2]
            else:
                self.column += 1
            if self.column > limits.columns or self.row > limits.rows:
                raise self.outside(ref or f"{get_column_letter(min(self.column, 18278))}{self.row}")
            if self.cells > limits.cells:
                raise _refuse(f"{self.where()}有超過 {limits.cells:,} 個儲存格。")
        elif local == "mergeCell":
            self.merged_ranges += 1
            ref = attrs.get((None, "ref"), "")
            self.merged_cells += _area(_bounds(ref))
            if self.merged_ranges > limits.merged_ranges:
                raise _refuse(f"{self.where()}有超過 {limits.merged_ranges} 個合併儲存格範圍。")
            if self.merged_cells > limits.merged_cells:
                raise _refuse(f"{self.where()}的合併儲存格共超過 {limits.merged_cells:,} 格（{ref}）。")
            self.bounded(ref)
        elif local == "hyperlink":
            self.linked(attrs.get((None, "ref")), "超連結")

    def endElementNS(self, name, qname):
        if name[1] == "row" and self.row_beyond:
            raise _refuse(f"{self.where()}第 {self.row:,} 列超出可用的範圍 A1:{self.limits.last_cell}。")

    def endDocument(self):
        if self.dimension_beyond:
            raise _refuse(
                f"{self.where()}的使用範圍（dimension）{self.dimension_beyond} 超過 A1:{self.limits.last_cell}"
                f"（最多 {self.limits.rows:,} 列、{self.limits.columns} 欄）。"
            )

    @staticmethod
    def _index(text: str | None, default: int) -> int:
        if text is None:
            return default
        try:
            return int(text)
        except ValueError:
            raise _unreadable() from None
