"""The personal-data screen: case records and report texts never carry a national ID, a phone number
or an e-mail address, however they are written.

Text is normalised before it is matched: NFKC (full-width letters and digits become ASCII), the
decimal digits of every script become 0-9 and case is folded. Then any other character that is
neither a letter nor a digit (spaces, dots, dashes, slashes, underscores, brackets, zero-width
characters, ...) only joins the groups of a number: `Ａ１２３ ４５６-７８９` is `a123456789` and
`0912.345.678` is `0912345678`. A number ends at letters of other scripts (Chinese text) and at list
and sentence punctuation (，、；。： and , ; :), which lists dates and times, not the digits of one
number: `2022-07-10、2022/7/12` and `09:00-12:00` are no phone numbers.

- A national ID or resident certificate number (a letter, then 1, 2, 8, 9 or A-D, then 8 digits) is
  found anywhere, even between other letters and digits (`NTPCA123456789`, `2024A123456789`).
- A phone number begins and ends with groups of digits (`+886 912 345 678`, `(02) 2960-3456`,
  `12 0912-345-678`; `1110912345678` is another number) and never after a year and a separator, where
  a date's month begins (`111.09.12-111.12.31`). Taiwan's numbers have fixed lengths (mobile 09 + 8
  digits, Taipei 02 + 8, Taichung and Nantou 04 + 7 or 8, elsewhere 9 digits in all), so toll-free
  0800 lines, 1999 and 113 are not mistaken for one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from shared.errors import Invalid


@dataclass(frozen=True)
class Kind:
    """A kind of personal data, as the API (English) and the pages (Chinese) name it."""

    name: str
    name_zh: str


NATIONAL_ID = Kind("a national ID or resident certificate number", "身分證統一編號或居留證號碼")
MOBILE = Kind("a mobile phone number", "手機號碼")
TELEPHONE = Kind("a telephone number", "電話號碼")
EMAIL = Kind("an e-mail address", "電子郵件地址")

_ID = re.compile(r"[a-z][1289a-d][0-9]{8}")
# Taiwan's country code 886 (also 00886, +886; a 0 after it is sometimes kept) or the trunk 0.
_PREFIX = r"(?:0|(?:00)?8860?)"
_PHONES = (
    (MOBILE, re.compile(_PREFIX + r"9[0-9]{8}")),
    (TELEPHONE, re.compile(_PREFIX + r"(?:2[0-9]{8}|4[0-9]{7,8}|[35678][0-9]{7})")),
)
_LONGEST_PHONE = 15  # digits, with the longest prefix
_YEAR = re.compile(r"1[0-9]{2}|19[0-9]{2}|20[0-9]{2}")  # ROC 100-199 or 1900-2099
# An @ after a character of the address, then a domain with a dot inside it: found from each @, so
# the search is linear (a pattern starting with [^\s@]+ would rescan the text from every position).
_EMAIL_DOMAIN = re.compile(r"(?<=[^\s@])@([^\s@]+)")

# The skeleton marks each character: "|" ends a number (a letter of another script, list and
# sentence punctuation), " " (spacing) and "-" (any other separator) join the groups of one.
_ASCII_MARKS = str.maketrans(
    {
        character: "|" if character in ",;:|" else " " if character.isspace() else "-"
        for character in map(chr, range(128))
        if not character.isalnum()
    }
)
_OTHER_DIGITS = re.compile(r"(?![0-9])\d")
_OTHER_LETTERS = re.compile(r"(?![0-9a-z])[^\W_]|[、。]")
_OTHER_SPACING = re.compile(r"[^\S\x00-\x7f]")
_OTHER_SEPARATORS = re.compile(r"[^\x00-\x7f]")
# Groups of digits joined by separators, 9 digits or more: fewer make no phone number.
_CHAIN = re.compile(r"[0-9](?:[- ]*+[0-9]){8,}")
_GROUPS = re.compile(r"([0-9]+)([- ]*)")
_SHORTEST_PHONE = 9  # digits


def skeleton(text: str) -> str:
    """The text as the screen reads it, one mark per character: letters a-z, digits 0-9, and "|",
    " " or "-" for the rest. `０９１２　３４５．６７８` reads `0912 345-678`."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).casefold()
        text = _OTHER_DIGITS.sub(lambda digit: str(unicodedata.decimal(digit[0])), text)
        text = _OTHER_LETTERS.sub("|", text)
        text = _OTHER_SEPARATORS.sub("-", _OTHER_SPACING.sub(" ", text))
    return text.lower().translate(_ASCII_MARKS)


def _phone_in(chain: str) -> Kind | None:
    """A phone number made of consecutive groups of a chain of digits (`12 0912-345-678`), beginning
    where a number begins: not after a year and a separator, as a date's month does (2022-09-12)."""
    groups = _GROUPS.findall(chain)
    for start, (first, _) in enumerate(groups):
        if first[0] not in "08" or (
            start and "-" in groups[start - 1][1] and _YEAR.fullmatch(groups[start - 1][0])
        ):
            continue
        digits = ""
        for end in range(start, len(groups)):
            digits += groups[end][0]
            if len(digits) > _LONGEST_PHONE:
                break
            if len(digits) >= _SHORTEST_PHONE:
                for kind, pattern in _PHONES:
                    if pattern.fullmatch(digits):
                        return kind
    return None


def find(text: str) -> Kind | None:
    """The kind of personal data a text seems to hold, if any."""
    if any("." in domain[1:-1] for domain in _EMAIL_DOMAIN.findall(unicodedata.normalize("NFKC", text))):
        return EMAIL
    read = skeleton(text)
    if _ID.search(read.replace("-", "").replace(" ", "")):  # "|" keeps words apart
        return NATIONAL_ID
    for chain in _CHAIN.finditer(read):
        kind = _phone_in(chain[0])
        if kind:
            return kind
    return None


def strings_in(value) -> list[str]:
    """Every string in a value (keys too), however deeply nested."""
    found, pending = [], [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            found += map(str, item)
            pending += item.values()
        elif isinstance(item, list | tuple):
            pending += item
    return found


def find_in(value) -> Kind | None:
    """The kind of personal data any string in a value seems to hold, if any: one look at them all,
    kept apart by a mark that ends every number and word, as if each were screened alone."""
    return find("\n|\n".join(strings_in(value)))


@dataclass(frozen=True)
class Found:
    """A text field that seems to hold personal data: where it is, its Chinese name, what it holds."""

    path: tuple[str, ...]
    label: str
    kind: Kind

    @property
    def message(self) -> str:
        """The refusal for the API's `errors`, naming the field as the pages do."""
        return f"{self.label} looks like {self.kind.name}: remove personal data."

    @property
    def message_zh(self) -> str:
        """The refusal in Chinese, for the pages (which show the field's name beside it)."""
        return (
            f"疑似含有{self.kind.name_zh}。報告不可含個人資料，請刪除後再送出"
            "（數字之間的空白或符號不影響判斷；日期請寫成「111年7月10日」）。"
        )


class PersonalData(Invalid):
    """Text that seems to hold personal data: nothing is saved, and the value is never repeated."""

    def __init__(self, found: list[Found]):
        errors: dict = {}
        for item in found:
            node = errors
            for key in item.path[:-1]:
                node = node.setdefault(key, {})
            node[item.path[-1]] = [item.message]
        named = "; ".join(f"{'.'.join(f.path)} ({f.label}) looks like {f.kind.name}" for f in found)
        super().__init__(
            f"Personal data is not allowed: {named}. Remove it and send again; nothing was saved.", errors
        )
        self.found = found


def refuse_personal_data(texts: Iterable[tuple[tuple[str, ...], str, str | None]]) -> None:
    """Refuse texts, given as (path, Chinese name, text), if any seems to hold personal data."""
    found = [
        Found(path, label, kind) for path, label, text in texts if text and (kind := find(text)) is not None
    ]
    if found:
        raise PersonalData(found)
