"""Quarters and the ROC (Minguo) calendar; the deadlines that depend on the plan are in shared/rules.py."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import total_ordering
from zoneinfo import ZoneInfo

TAIPEI = ZoneInfo("Asia/Taipei")
ROC_EPOCH_OFFSET = 1911  # ROC year 1 is 1912
ROC_FIRST_YEAR = ROC_EPOCH_OFFSET + 1
_QUARTER_PATTERN = re.compile(r"^(\d{4})-?Q([1-4])$")


def roc_year(gregorian: int) -> int:
    """Return the ROC year of a Gregorian year (2022 -> 111)."""
    if gregorian <= ROC_EPOCH_OFFSET:
        raise ValueError(f"{gregorian} is before ROC year 1")
    return gregorian - ROC_EPOCH_OFFSET


def gregorian_year(roc: int) -> int:
    """Return the Gregorian year of an ROC year (111 -> 2022)."""
    if roc < 1:
        raise ValueError(f"ROC year must be 1 or later, not {roc}")
    return roc + ROC_EPOCH_OFFSET


def roc_year_label(gregorian: int) -> str:
    """The year as people read it: 2026 -> 民國115年."""
    return f"民國{roc_year(gregorian)}年"


def format_roc_date(day: dt.date) -> str:
    """Format a date the way Taiwanese agencies write it: 111年4月10日."""
    return f"{roc_year(day.year)}年{day.month}月{day.day}日"


@total_ordering
@dataclass(frozen=True)
class Quarter:
    """A calendar quarter of a Gregorian year."""

    year: int
    quarter: int

    def __post_init__(self):
        if self.quarter not in (1, 2, 3, 4):
            raise ValueError(f"quarter must be 1-4, not {self.quarter}")
        if not 1912 <= self.year <= 9999:
            raise ValueError(f"year {self.year} is out of range")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """Parse '2022Q2' or '2022-Q2'."""
        match = _QUARTER_PATTERN.match(text.strip())
        if not match:
            raise ValueError(f"not a quarter: {text!r} (expected e.g. 2022Q2)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, day: dt.date) -> Quarter:
        """Return the quarter a date falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 3 * self.quarter - 2, 1)

    @property
    def end(self) -> dt.date:
        return self.next().start - dt.timedelta(days=1)

    @property
    def roc_year(self) -> int:
        return roc_year(self.year)

    @property
    def label_zh(self) -> str:
        """The label bureau staff read: 民國111年第2季."""
        return f"{roc_year_label(self.year)}第{self.quarter}季"

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.quarter == 4 else Quarter(self.year, self.quarter + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.quarter == 1 else Quarter(self.year, self.quarter - 1)

    def year_to_date(self) -> list[Quarter]:
        """The quarters of the same year up to and including this one."""
        return [Quarter(self.year, q) for q in range(1, self.quarter + 1)]

    def __lt__(self, other: Quarter) -> bool:
        return (self.year, self.quarter) < (other.year, other.quarter)

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter}"
