"""Workbook bombs (issue 14) made from a real template by editing its XML: openpyxl never builds them.

Each bomb maps to the words its refusal must contain, naming the limit it passes.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Callable

SHEET = "xl/worksheets/sheet1.xml"
WORKBOOK = "xl/workbook.xml"


def rewrite(template: bytes, changes: dict[str, Callable[[bytes], bytes]], extra=()) -> bytes:
    """The template with some parts changed (and parts added: (name, bytes) pairs), deflated."""
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(template)) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename in changes:
                data = changes[info.filename](data)
            target.writestr(info.filename, data)
        for name, data in extra:
            target.writestr(name, data)
    return output.getvalue()


def _merge(ref: str) -> Callable[[bytes], bytes]:
    def change(xml: bytes) -> bytes:
        return re.sub(
            rb'<mergeCells count="(\d+)">', f'<mergeCells count="4"><mergeCell ref="{ref}"/>'.encode(), xml
        )

    return change


def _dimension(ref: str) -> Callable[[bytes], bytes]:
    return lambda xml: re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), xml)


def _rows(count: int, first: int, empty: bool = False) -> Callable[[bytes], bytes]:
    """`count` more rows, one number each (or none), from row `first` on."""
    cell = "" if empty else '<c r="A{r}"><v>1</v></c>'
    rows = "".join(f'<row r="{r}">{cell.format(r=r)}</row>' for r in range(first, first + count))
    return lambda xml: xml.replace(b"</sheetData>", rows.encode() + b"</sheetData>")


def _cells(rows: int, columns: int, first: int) -> Callable[[bytes], bytes]:
    """A block of `rows` x `columns` numbers from row `first` on: every cell within the columns allowed."""
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(c) for c in range(1, columns + 1)]
    body = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{x}{r}"><v>1</v></c>' for x in letters) + "</row>"
        for r in range(first, first + rows)
    )
    return lambda xml: xml.replace(b"</sheetData>", body.encode() + b"</sheetData>")


def _sheets(count: int) -> Callable[[bytes], bytes]:
    """workbook.xml listing `count` sheets, every one pointing at the first sheet's part."""

    def change(xml: bytes) -> bytes:
        rid = re.search(rb'<sheet [^>]*r:id="([^"]+)"', xml).group(1).decode()
        listed = "".join(f'<sheet name="S{i}" sheetId="{i + 10}" r:id="{rid}"/>' for i in range(count))
        return xml.replace(b"</sheets>", listed.encode() + b"</sheets>")

    return change


def _hyperlink(ref: str) -> Callable[[bytes], bytes]:
    def change(xml: bytes) -> bytes:
        link = f'<hyperlinks><hyperlink ref="{ref}" location="A1"/></hyperlinks>'.encode()
        return re.sub(rb"(<pageMargins|<pageSetup|</worksheet>)", link + rb"\1", xml, count=1)

    return change


_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol9;</t></si></sst>'
)


def zip_bomb(template: bytes, unpacked: int = 1024 * 1024 * 1024) -> bytes:
    """A part of `unpacked` zero bytes (1 GiB: about 1 MB deflated) added to the template."""
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(template)) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        with target.open("xl/media/zeros.bin", "w", force_zip64=True) as part:
            block = bytes(1024 * 1024)
            for _ in range(unpacked // len(block)):
                part.write(block)
    return output.getvalue()


def lying_zip(template: bytes, declared: int = 1000) -> bytes:
    """The template plus a part of 20 MB of spaces whose headers say it unpacks to `declared` bytes."""
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(template)) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.writestr("xl/sharedStrings.xml", b"<sst>" + b" " * (20 * 1024 * 1024) + b"</sst>")
    raw = bytearray(output.getvalue())
    size = struct.pack("<I", 20 * 1024 * 1024 + 11)
    for header, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size in each header
        at = raw.rfind(header)
        while at != -1:
            if raw[at + offset : at + offset + 4] == size:
                raw[at + offset : at + offset + 4] = struct.pack("<I", declared)
            at = raw.rfind(header, 0, at)
    return bytes(raw)


# name: (make it from a template, words its refusal contains)
BOMBS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "a merged range of a million cells": (
        lambda t: rewrite(t, {SHEET: _merge("P100:Y100099")}),
        "合併儲存格共超過 2,000 格（P100:Y100099）",
    ),
    "a merged range of a million cells, in UTF-16": (
        lambda t: rewrite(
            t,
            {
                SHEET: lambda xml: (
                    b"\xff\xfe"
                    + _merge("P100:Y100099")(xml)
                    .replace(b'encoding="utf-8"', b'encoding="utf-16"')
                    .decode()
                    .encode("utf-16-le")
                )
            },
        ),
        "合併儲存格共超過 2,000 格（P100:Y100099）",
    ),
    "15,000 entries": (
        lambda t: rewrite(t, {}, extra=[(f"x/{i}", b"") for i in range(15_000)]),
        "壓縮檔內有 15,010 個項目，上限 100 個",
    ),
    "a merged range of the whole sheet": (
        lambda t: rewrite(t, {SHEET: _merge("A1:XFD1048576")}),
        "合併儲存格共超過 2,000 格（A1:XFD1048576）",
    ),
    "5,000 sheets pointing at one part": (
        lambda t: rewrite(t, {WORKBOOK: _sheets(5000)}),
        "活頁簿列出超過 8 個工作表",
    ),
    "two sheets pointing at one part": (
        lambda t: rewrite(t, {WORKBOOK: _sheets(1)}),
        "指向同一份內容（xl/worksheets/sheet1.xml）",
    ),
    "a dimension of the whole sheet": (
        lambda t: rewrite(t, {SHEET: _dimension("A1:XFD1048576")}),
        "使用範圍（dimension）A1:XFD1048576 超過 A1:BZ1000",
    ),
    "100,000 rows": (
        lambda t: rewrite(t, {SHEET: _rows(100_000, 40, empty=True)}),
        "第 1,001 列超出可用的範圍 A1:BZ1000",
    ),
    "a value in the last cell of a sheet": (
        lambda t: rewrite(
            t, {SHEET: lambda xml: _rows(1, 1048576)(xml).replace(b'"A1048576"', b'"XFD1048576"')}
        ),
        "儲存格 XFD1048576 超出可用的範圍 A1:BZ1000",
    ),
    "6,000 cells within the rows and columns allowed": (
        lambda t: rewrite(t, {SHEET: _cells(100, 60, 40)}),
        "有超過 5,000 個儲存格",
    ),
    "a hyperlink over the whole sheet": (
        lambda t: rewrite(t, {SHEET: _hyperlink("A1:XFD1048576")}),
        "A1:XFD1048576 超出可用的範圍",
    ),
    "200,000 elements in a part": (
        lambda t: rewrite(t, {}, extra=[("xl/styles2.xml", b"<a>" + b"<b/>" * 200_000 + b"</a>")]),
        "檔案的 XML 內容超過 60,000 個元素與屬性（在「xl/styles2.xml」）",
    ),
    "a million attributes in one tag": (
        lambda t: rewrite(
            t, {}, extra=[("xl/x.xml", b"<a " + b" ".join(b'a%d=""' % i for i in range(700_000)) + b"/>")]
        ),
        "「xl/x.xml」中有超過 128 KB 的單一 XML 標記或文字",
    ),
    "a gibibyte of zeros (zip bomb)": (zip_bomb, "解壓後 1024.0 MB，上限 8.0 MB"),
    "a part unpacking beyond its declared size": (lying_zip, "無法讀取檔案"),
    "entity expansion (billion laughs)": (
        lambda t: rewrite(t, {}, extra=[("xl/sharedStrings.xml", _LAUGHS)]),
        "無法讀取檔案",
    ),
    "a file over 2 MB": (
        lambda t: rewrite(t, {}, extra=[("xl/media/noise.bin", __import__("os").urandom(3 * 1024 * 1024))]),
        "檔案大小 3.0 MB，上限 2.0 MB",
    ),
}
